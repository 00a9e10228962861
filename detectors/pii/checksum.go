package pii

import (
	"crypto/sha256"
	"strings"

	"golang.org/x/crypto/sha3"
)

// The check functions take the identifier's characters with separators
// already removed. They never allocate on the hot path except where a hash
// is needed (base58check, EIP-55), which only runs on strong candidates.

// luhn reports whether the decimal string s passes the Luhn (mod 10) check.
func luhn(s string) bool {
	if len(s) < 2 {
		return false
	}
	sum, double := 0, false
	for i := len(s) - 1; i >= 0; i-- {
		c := s[i]
		if c < '0' || c > '9' {
			return false
		}
		d := int(c - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

// ibanLengths is the IBAN length per country from the SWIFT IBAN registry.
var ibanLengths = map[string]int{
	"AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22,
	"BH": 22, "BI": 27, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24,
	"DE": 22, "DJ": 27, "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18,
	"FK": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27,
	"GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27,
	"JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20,
	"LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MN": 20, "MR": 27,
	"MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23, "PK": 24, "PL": 28,
	"PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24, "SC": 31,
	"SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28,
	"TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}

// ibanLen is ibanLengths keyed by bytes, so lookups do not allocate.
var ibanLen = func() map[[2]byte]int {
	m := make(map[[2]byte]int, len(ibanLengths))
	for k, v := range ibanLengths {
		m[[2]byte{k[0], k[1]}] = v
	}
	return m
}()

// ibanValid checks an IBAN of upper- or lower-case letters and digits: the
// country's registered length and the ISO 7064 mod 97-10 check digits.
func ibanValid(s string) bool {
	if len(s) < 15 || len(s) > 34 {
		return false
	}
	if n, ok := ibanLen[[2]byte{upper(s[0]), upper(s[1])}]; !ok || n != len(s) {
		return false
	}
	if !isDigit(s[2]) || !isDigit(s[3]) {
		return false
	}
	// Move the first four characters to the end; letters count as 10..35.
	rem := 0
	for i := 0; i < len(s); i++ {
		c := upper(s[(i+4)%len(s)])
		switch {
		case isDigit(c):
			rem = (rem*10 + int(c-'0')) % 97
		case c >= 'A' && c <= 'Z':
			rem = (rem*100 + int(c-'A'+10)) % 97
		default:
			return false
		}
	}
	return rem == 1
}

// Verhoeff tables (dihedral group D5), used by Aadhaar.
var (
	verhoeffD = [10][10]uint8{
		{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 2, 3, 4, 0, 6, 7, 8, 9, 5},
		{2, 3, 4, 0, 1, 7, 8, 9, 5, 6}, {3, 4, 0, 1, 2, 8, 9, 5, 6, 7},
		{4, 0, 1, 2, 3, 9, 5, 6, 7, 8}, {5, 9, 8, 7, 6, 0, 4, 3, 2, 1},
		{6, 5, 9, 8, 7, 1, 0, 4, 3, 2}, {7, 6, 5, 9, 8, 2, 1, 0, 4, 3},
		{8, 7, 6, 5, 9, 3, 2, 1, 0, 4}, {9, 8, 7, 6, 5, 4, 3, 2, 1, 0},
	}
	verhoeffP = [8][10]uint8{
		{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 5, 7, 6, 2, 8, 3, 0, 9, 4},
		{5, 8, 0, 3, 7, 9, 6, 1, 4, 2}, {8, 9, 1, 6, 0, 4, 3, 5, 2, 7},
		{9, 4, 5, 3, 1, 2, 6, 8, 7, 0}, {4, 2, 8, 6, 5, 7, 3, 9, 0, 1},
		{2, 7, 9, 3, 8, 0, 6, 4, 1, 5}, {7, 0, 4, 6, 9, 1, 3, 2, 5, 8},
	}
)

func verhoeff(s string) bool {
	c := uint8(0)
	for i := 0; i < len(s); i++ {
		d := s[len(s)-1-i]
		if !isDigit(d) {
			return false
		}
		c = verhoeffD[c][verhoeffP[i%8][d-'0']]
	}
	return c == 0
}

// ssnValid applies the SSA's structural rules to a 9-digit SSN: area 000,
// 666 and 900-999 are never issued, nor group 00 or serial 0000. Numbers
// published as examples (and those with one repeated digit) are rejected.
func ssnValid(s string) bool {
	if len(s) != 9 || !allDigits(s) {
		return false
	}
	area, group, serial := s[:3], s[3:5], s[5:]
	if area == "000" || area == "666" || area[0] == '9' || group == "00" || serial == "0000" {
		return false
	}
	switch s {
	case "123456789", "078051120", "219099999":
		return false
	}
	return !sameDigit(s)
}

// bsnValid is the Dutch 11-proof ("elfproef") for a 9-digit BSN.
func bsnValid(s string) bool {
	if len(s) != 9 || !allDigits(s) || sameDigit(s) {
		return false
	}
	sum := 0
	for i := 0; i < 8; i++ {
		sum += (9 - i) * int(s[i]-'0')
	}
	sum -= int(s[8] - '0')
	return sum%11 == 0 && sum != 0
}

// peselValid checks the Polish PESEL: weights 1,3,7,9 and a valid encoded
// birth date (the month carries the century).
func peselValid(s string) bool {
	if len(s) != 11 || !allDigits(s) || sameDigit(s) {
		return false
	}
	w := [10]int{1, 3, 7, 9, 1, 3, 7, 9, 1, 3}
	sum := 0
	for i := 0; i < 10; i++ {
		sum += w[i] * int(s[i]-'0')
	}
	if (10-sum%10)%10 != int(s[10]-'0') {
		return false
	}
	yy := atoi(s[0:2])
	mm := atoi(s[2:4])
	dd := atoi(s[4:6])
	century := 1900
	switch {
	case mm > 80:
		century, mm = 1800, mm-80
	case mm > 60:
		century, mm = 2200, mm-60
	case mm > 40:
		century, mm = 2100, mm-40
	case mm > 20:
		century, mm = 2000, mm-20
	}
	return validDate(century+yy, mm, dd)
}

// steuerIDValid checks the German tax identification number (IdNr): 11
// digits, no leading zero, in the first ten exactly one digit repeated (2 or
// 3 times) and the ISO 7064 MOD 11,10 check digit.
func steuerIDValid(s string) bool {
	if len(s) != 11 || !allDigits(s) || s[0] == '0' {
		return false
	}
	var counts [10]int
	for i := 0; i < 10; i++ {
		counts[s[i]-'0']++
	}
	repeated := 0
	for _, c := range counts {
		switch {
		case c == 2 || c == 3:
			repeated++
		case c > 3:
			return false
		}
	}
	if repeated != 1 {
		return false
	}
	p := 10
	for i := 0; i < 10; i++ {
		sum := (int(s[i]-'0') + p) % 10
		if sum == 0 {
			sum = 10
		}
		p = (sum * 2) % 11
	}
	check := 11 - p
	if check == 10 {
		check = 0
	}
	return check == int(s[10]-'0')
}

// cpfValid checks the two mod-11 check digits of a Brazilian CPF.
func cpfValid(s string) bool {
	if len(s) != 11 || !allDigits(s) || sameDigit(s) {
		return false
	}
	for n := 9; n <= 10; n++ {
		sum := 0
		for i := 0; i < n; i++ {
			sum += int(s[i]-'0') * (n + 1 - i)
		}
		d := sum * 10 % 11
		if d == 10 {
			d = 0
		}
		if d != int(s[n]-'0') {
			return false
		}
	}
	return true
}

// personnummerValid checks a Swedish personal identity number given as 10
// digits (YYMMDDNNNC): a valid date (day+60 for a coordination number) and
// the Luhn check over the ten digits.
func personnummerValid(s string) bool {
	if len(s) != 10 || !allDigits(s) || !luhn(s) {
		return false
	}
	mm, dd := atoi(s[2:4]), atoi(s[4:6])
	if dd > 60 {
		dd -= 60
	}
	// The century is unknown here; 2000 is a leap year, so 29 Feb passes.
	return validDate(2000+atoi(s[0:2]), mm, dd)
}

// dniLetters is the check letter of a Spanish DNI/NIE, indexed by number mod 23.
const dniLetters = "TRWAGMYFPDXBNJZSQVHLCKE"

// dniValid checks "12345678Z": eight digits and the check letter.
func dniValid(s string) bool {
	if len(s) != 9 || !allDigits(s[:8]) {
		return false
	}
	return dniLetters[atoi(s[:8])%23] == upper(s[8])
}

// nieValid checks "X1234567L": X, Y or Z (for 0, 1, 2), seven digits and
// the check letter.
func nieValid(s string) bool {
	if len(s) != 9 || !allDigits(s[1:8]) {
		return false
	}
	p := strings.IndexByte("XYZ", upper(s[0]))
	if p < 0 {
		return false
	}
	return dniLetters[(p*10_000_000+atoi(s[1:8]))%23] == upper(s[8])
}

// Italian codice fiscale: the odd-position values of the check character.
var cfOdd = [36]int{ // 0-9 then A-Z
	1, 0, 5, 7, 9, 13, 15, 17, 19, 21,
	1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23,
}

// cfValid checks a 16-character codice fiscale (upper-cased): the layout
// (six letters, two digits, month letter, two digits, a letter, three
// digits, check letter, where digits may be replaced by the omocodia
// letters LMNPQRSTUV) and the check character.
func cfValid(s string) bool {
	if len(s) != 16 {
		return false
	}
	const omocodia = "LMNPQRSTUV"
	for i := 0; i < 16; i++ {
		c := s[i]
		switch i {
		case 0, 1, 2, 3, 4, 5, 11, 15:
			if c < 'A' || c > 'Z' {
				return false
			}
		case 8:
			if strings.IndexByte("ABCDEHLMPRST", c) < 0 {
				return false
			}
		default:
			if !isDigit(c) && strings.IndexByte(omocodia, c) < 0 {
				return false
			}
		}
	}
	sum := 0
	for i := 0; i < 15; i++ {
		c := s[i]
		var v int
		if isDigit(c) {
			v = int(c - '0')
		} else {
			v = int(c-'A') + 10
		}
		if i%2 == 0 { // 1st, 3rd, ... character (odd in the 1-based rule)
			sum += cfOdd[v]
		} else if isDigit(c) {
			sum += int(c - '0')
		} else {
			sum += int(c - 'A')
		}
	}
	return s[15] == byte('A'+sum%26)
}

// ninoValid checks the layout of a UK National Insurance number (no check
// digit exists): two prefix letters from the allowed sets, six digits and a
// suffix A-D.
func ninoValid(s string) bool {
	if len(s) != 9 {
		return false
	}
	a, b := s[0], s[1]
	if a < 'A' || a > 'Z' || b < 'A' || b > 'Z' || !allDigits(s[2:8]) || s[8] < 'A' || s[8] > 'D' {
		return false
	}
	if strings.IndexByte("DFIQUV", a) >= 0 || strings.IndexByte("DFIOQUV", b) >= 0 {
		return false
	}
	switch s[:2] {
	case "BG", "GB", "KN", "NK", "NT", "TN", "ZZ":
		return false
	}
	return true
}

const base58Alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

var base58Index = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	for i := 0; i < len(base58Alphabet); i++ {
		t[base58Alphabet[i]] = int8(i)
	}
	return t
}()

// base58checkValid decodes a Bitcoin legacy address (P2PKH "1...", P2SH
// "3...") and verifies its 4-byte double-SHA-256 checksum and 25-byte size.
func base58checkValid(s string) bool {
	if len(s) < 25 || len(s) > 35 {
		return false
	}
	var buf [40]byte // big-endian base-256 accumulator
	for i := 0; i < len(s); i++ {
		v := base58Index[s[i]]
		if v < 0 {
			return false
		}
		carry := int(v)
		for j := len(buf) - 1; j >= 0; j-- {
			carry += int(buf[j]) * 58
			buf[j] = byte(carry)
			carry >>= 8
		}
		if carry != 0 {
			return false
		}
	}
	zeros := 0
	for zeros < len(s) && s[zeros] == '1' {
		zeros++
	}
	first := 0
	for first < len(buf) && buf[first] == 0 {
		first++
	}
	if zeros+len(buf)-first != 25 {
		return false
	}
	dec := buf[len(buf)-25:] // leading zero bytes are the '1's
	if dec[0] != 0x00 && dec[0] != 0x05 {
		return false
	}
	h1 := sha256.Sum256(dec[:21])
	h2 := sha256.Sum256(h1[:])
	return h2[0] == dec[21] && h2[1] == dec[22] && h2[2] == dec[23] && h2[3] == dec[24]
}

const bech32Charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"

// bech32Valid verifies a segwit address with human-readable part "bc"
// (mainnet): BIP-173 bech32 for witness v0, BIP-350 bech32m for v1+.
func bech32Valid(s string) bool {
	if len(s) < 14 || len(s) > 90 {
		return false
	}
	lower := s[0] >= 'a'
	var values [90]byte
	n := 0
	for i := 3; i < len(s); i++ { // after "bc1"
		c := s[i]
		if (c >= 'a') != lower && !isDigit(c) {
			return false // mixed case is invalid
		}
		p := strings.IndexByte(bech32Charset, lower1(c))
		if p < 0 {
			return false
		}
		values[n] = byte(p)
		n++
	}
	if n < 7 {
		return false
	}
	gen := [5]uint32{0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3}
	chk := uint32(1)
	step := func(v byte) {
		top := chk >> 25
		chk = (chk&0x1ffffff)<<5 ^ uint32(v)
		for i := 0; i < 5; i++ {
			if (top>>i)&1 == 1 {
				chk ^= gen[i]
			}
		}
	}
	step('b' >> 5)
	step('c' >> 5)
	step(0)
	step('b' & 31)
	step('c' & 31)
	for i := 0; i < n; i++ {
		step(values[i])
	}
	witver := values[0]
	if witver > 16 {
		return false
	}
	if witver == 0 {
		return chk == 1 // bech32
	}
	return chk == 0x2bc830a3 // bech32m
}

// eip55Valid checks the mixed-case checksum of an Ethereum address given as
// its 40 hex digits.
func eip55Valid(hex string) bool {
	var lower [40]byte
	for i := 0; i < 40; i++ {
		lower[i] = lower1(hex[i])
	}
	h := sha3.NewLegacyKeccak256()
	h.Write(lower[:])
	var sum [32]byte
	h.Sum(sum[:0])
	for i := 0; i < 40; i++ {
		c := hex[i]
		if isDigit(c) {
			continue
		}
		nibble := sum[i/2]
		if i%2 == 0 {
			nibble >>= 4
		}
		if (nibble&0xf >= 8) != (c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

func validDate(y, m, d int) bool {
	if m < 1 || m > 12 || d < 1 {
		return false
	}
	days := [13]int{0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}[m]
	if m == 2 && y%4 == 0 && (y%100 != 0 || y%400 == 0) {
		days = 29
	}
	return d <= days
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }
func isLower(c byte) bool { return c >= 'a' && c <= 'z' }
func isAlpha(c byte) bool { return isUpper(c) || isLower(c) }
func isAlnum(c byte) bool { return isDigit(c) || isAlpha(c) }
func isHex(c byte) bool {
	return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func upper(c byte) byte {
	if isLower(c) {
		return c - 32
	}
	return c
}

func lower1(c byte) byte {
	if isUpper(c) {
		return c + 32
	}
	return c
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return len(s) > 0
}

func sameDigit(s string) bool {
	for i := 1; i < len(s); i++ {
		if s[i] != s[0] {
			return false
		}
	}
	return true
}

// atoi parses a short all-digit string (callers check the digits).
func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}
