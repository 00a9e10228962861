package pii

import (
	"context"
	"strings"
	"testing"

	"github.com/llm-firewall/llm-firewall/pipeline"
)

// benchPrompt is a realistic 4 KB support prompt: prose, order numbers,
// dates, prices and versions, with an e-mail, a phone number, an IBAN and
// the customer's name.
var benchPrompt = func() string {
	head := `You are a helpful support assistant for an online electronics shop. Answer politely and
keep the reply under 200 words. Here is the customer's message and the order history.

Customer message:
Hi, I ordered a pair of wireless headphones (order 100234871) on 2024-03-15 and paid 129.99 EUR.
The package arrived yesterday but the left ear cup does not charge. I tried the cable from my
phone and the one in the box, and I updated the firmware to version 2.4.1.7 as your FAQ says.
Nothing helped. Could you send a replacement, or refund me to my account DE89370400440532013000?
You can reach me at jonas.weber@posteo.de or call +49 30 901820 between 9 and 17 h.
Thanks, Jonas

Order history:
`
	line := "- order 10023%d: 1 x USB-C charger 65W, 34.90 EUR, shipped 2024-02-%02d, delivered, no returns open\n"
	var b strings.Builder
	b.WriteString(head)
	for i := 0; b.Len() < 3600; i++ {
		b.WriteString(strings.NewReplacer("%d", string(rune('0'+i%10))+"482", "%02d", "1"+string(rune('0'+i%10))).Replace(line))
	}
	b.WriteString("\nPolicy: replacements within 30 days; refunds take 5-7 business days. Do not promise dates.\n")
	for b.Len() < 4096 {
		b.WriteString("Please be concise. ")
	}
	return b.String()[:4096]
}()

func BenchmarkDetect4KB(b *testing.B) {
	d, err := New(nil)
	if err != nil {
		b.Fatal(err)
	}
	in := &pipeline.Input{
		Direction: pipeline.Request,
		Segments:  []pipeline.Segment{{Text: benchPrompt, Role: pipeline.RoleUser, Provenance: pipeline.FromUser}},
	}
	fs, err := d.Detect(context.Background(), in)
	if err != nil {
		b.Fatal(err)
	}
	var got []string
	for _, f := range fs {
		got = append(got, f.Entity)
	}
	if strings.Join(got, ",") != "IBAN,EMAIL,PHONE,PERSON" {
		b.Fatalf("bench prompt findings %v, want IBAN, EMAIL, PHONE, PERSON", got)
	}
	b.SetBytes(int64(len(benchPrompt)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := d.Detect(context.Background(), in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkScanners splits BenchmarkDetect4KB by scanner.
func BenchmarkScanners(b *testing.B) {
	d, _ := newDetector(nil)
	for _, c := range []struct {
		name string
		fn   func(*scanner)
	}{
		{"email", (*scanner).scanEmails}, {"numbers", (*scanner).scanNumbers}, {"ipv4", (*scanner).scanIPv4},
		{"ipv6", (*scanner).scanIPv6}, {"words", (*scanner).scanWords}, {"dob", (*scanner).scanDOB}, {"addr", (*scanner).scanAddresses},
		{"names", (*scanner).scanNames},
	} {
		b.Run(c.name, func(b *testing.B) {
			s := scanner{d: d, text: benchPrompt}
			for b.Loop() {
				s.hits = s.hits[:0]
				c.fn(&s)
			}
		})
	}
}

// BenchmarkPhoneLibrary is what one uncached libphonenumber check costs,
// international and national (all default regions tried).
func BenchmarkPhoneLibrary(b *testing.B) {
	d, _ := newDetector(nil)
	b.Run("international", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			d.phoneValidUncached("+49 30 901820", true)
		}
	})
	b.Run("national", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			d.phoneValidUncached("0612 34 56 78", false)
		}
	})
}
