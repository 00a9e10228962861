package pii

import "testing"

func TestChecksums(t *testing.T) {
	cases := []struct {
		name string
		fn   func(string) bool
		ok   []string
		bad  []string
	}{
		{"luhn", luhn, []string{"4526018159083012", "79927398713", "18"}, []string{"4526018159083013", "79927398710", "1", "12a4"}},
		{"iban", ibanValid,
			[]string{"DE89370400440532013000", "GB82WEST12345698765432", "FR1420041010050500013M02606", "nl91abna0417164300", "NO9386011117947"},
			[]string{"DE89370400440532013001", "GB82WEST1234569876543", "XX89370400440532013000", "DE8937040044053201300!", "GB82WEST12345698765432X"}},
		{"verhoeff", verhoeff, []string{"2363", "234549118629"}, []string{"2364", "234549118628"}},
		{"ssn", ssnValid, []string{"536221456", "899991234"}, []string{"000221456", "666221456", "912221456", "536001456", "536220000", "123456789", "078051120", "111111111", "53622145"}},
		{"bsn", bsnValid, []string{"111222333", "123456782"}, []string{"111222334", "000000000", "12345678"}},
		{"pesel", peselValid, []string{"90021512347", "44051401359"}, []string{"90021512348", "90133112345", "4405140135"}},
		{"steuer-id", steuerIDValid, []string{"29314170583", "86095742719"}, []string{"29314170584", "01234567890", "11111111111", "12345678901"}},
		{"cpf", cpfValid, []string{"12345678909", "52998224725"}, []string{"12345678900", "11111111111", "1234567890"}},
		{"personnummer", personnummerValid, []string{"9002151232", "8112189876"}, []string{"9002151233", "9013151232", "900215123"}},
		{"dni", dniValid, []string{"12345678Z", "00000000T"}, []string{"12345678A", "1234567Z", "1234567AZ"}},
		{"nie", nieValid, []string{"X1234567L", "Y0000000Z"}, []string{"X1234567A", "A1234567L"}},
		{"codice fiscale", cfValid, []string{"RSSMRA85T10A562S", "RSSMRA85T10A56NH"}, []string{"RSSMRA85T10A562T", "RSSMRA85Z10A562S", "RSSMRA85T10A562"}},
		{"nino", ninoValid, []string{"AB123456C", "JG103759A"}, []string{"QQ123456C", "GB123456A", "AB123456E", "DA123456A", "AB12345C"}},
		{"base58check", base58checkValid,
			[]string{"1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", "1BnnknLzLXi4ZZVvWf3UhR9BpKvUbTgqy6"},
			[]string{"1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfN0", "1111111111111111111111111"}},
		{"bech32", bech32Valid,
			[]string{"BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4", "bc1qc9tjdmnadv90d2cncw8f9jhq69g90v2ecxmfca", "bc1pnplefnr5z8t30u290xe25yq0hwe5lfvnl6hdyujgka3w826cqhcqzvzxma", "BC1QC9TJDMNADV90D2CNCW8F9JHQ69G90V2ECXMFCA"},
			[]string{"bc1qc9tjdmnadv90d2cncw8f9jhq69g90v2ecxmfcb", "bc1qC9tjdmnadv90d2cncw8f9jhq69g90v2ecxmfca", "bc1pc9tjdmnadv90d2cncw8f9jhq69g90v2ecxmfca"}},
		{"eip55", eip55Valid,
			[]string{"5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "fB6916095ca1df60bB79Ce92cE3Ea74c37c5d359", "dbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB", "D1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb"},
			[]string{"5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD", "5AAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"}},
	}
	for _, c := range cases {
		for _, s := range c.ok {
			if !c.fn(s) {
				t.Errorf("%s(%q) = false, want true", c.name, s)
			}
		}
		for _, s := range c.bad {
			if c.fn(s) {
				t.Errorf("%s(%q) = true, want false", c.name, s)
			}
		}
	}
}

// Luhn, Verhoeff and mod 97 each catch every single-digit substitution.
func TestChecksumsCatchSingleSubstitutions(t *testing.T) {
	for _, c := range []struct {
		name string
		fn   func(string) bool
		s    string
	}{
		{"luhn", luhn, "4526018159083012"},
		{"verhoeff", verhoeff, "234549118629"},
		{"iban", ibanValid, "DE89370400440532013000"},
	} {
		if !c.fn(c.s) {
			t.Fatalf("%s: seed %q invalid", c.name, c.s)
		}
		for i := 0; i < len(c.s); i++ {
			if !isDigit(c.s[i]) {
				continue
			}
			for d := byte('0'); d <= '9'; d++ {
				if d == c.s[i] {
					continue
				}
				m := c.s[:i] + string(d) + c.s[i+1:]
				if c.fn(m) {
					t.Errorf("%s accepts %q (digit %d changed)", c.name, m, i)
				}
			}
		}
	}
}

func TestCardIssuers(t *testing.T) {
	for _, c := range []struct {
		n  string
		ok bool
	}{
		{"4526018159083012", true},  // Visa 16
		{"5366131860913904", true},  // Mastercard
		{"2221194821993516", true},  // Mastercard 2-series
		{"379960308246287", true},   // Amex 15
		{"6011819093786579", true},  // Discover
		{"3799603082462870", false}, // Amex prefix, wrong length
		{"9400110898825022", false}, // no issuer at 94
		{"4242424242424242", false}, // documented test number
		{"0000000000000000", false}, // repeated digit
	} {
		if got := cardValid(c.n); got != c.ok {
			t.Errorf("cardValid(%q) = %v, want %v", c.n, got, c.ok)
		}
	}
}
