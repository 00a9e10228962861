package audit

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"slices"
	"strings"
	"testing"
)

func kinds(r *Report) []string {
	var out []string
	for _, p := range r.Problems {
		out = append(out, p.Kind)
	}
	return out
}

// TestVerifyTampering changes a signed log in every way we know and checks
// that verification names it. The log: open, 20 decisions with a signature
// every 5 records, close, signature.
func TestVerifyTampering(t *testing.T) {
	base := writeLog(t, 20, Config{SigningKey: testKey, SignEvery: 5})
	otherKey := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, ed25519.SeedSize))
	tests := []struct {
		name          string
		tamper        func(t *testing.T, lines [][]byte) [][]byte
		pub           ed25519.PublicKey
		want          []string // problem kinds that must be reported
		wantLine      int      // the line of the first wanted problem, 0 = any
		tampered      bool
		okUnderSigned bool // OK(requireSigned=true)
	}{
		{name: "untouched", tamper: func(_ *testing.T, l [][]byte) [][]byte { return l }, okUnderSigned: true},
		{name: "untouched without key", pub: []byte{}, tamper: func(_ *testing.T, l [][]byte) [][]byte { return l }, want: []string{KindUncheckedSg}},
		{name: "edited decision", tampered: true, want: []string{KindEdited}, wantLine: 5, tamper: func(t *testing.T, l [][]byte) [][]byte {
			l[3] = bytes.Replace(l[3], []byte(`"action":"block"`), []byte(`"action":"allow"`), 1)
			return l
		}},
		{name: "edited whitespace", tampered: true, want: []string{KindEdited}, wantLine: 4, tamper: func(t *testing.T, l [][]byte) [][]byte {
			l[2] = append(l[2], ' ')
			return l
		}},
		{name: "edited and re-chained", tampered: true, want: []string{KindBadSig}, tamper: func(t *testing.T, l [][]byte) [][]byte {
			l[3] = bytes.Replace(l[3], []byte(`"action":"block"`), []byte(`"action":"allow"`), 1)
			rechain(t, l, 4)
			return l
		}},
		{name: "removed record", tampered: true, want: []string{KindSeqGap}, wantLine: 4, tamper: func(t *testing.T, l [][]byte) [][]byte {
			return slices.Delete(l, 3, 4)
		}},
		{name: "removed and re-chained", tampered: true, want: []string{KindBadSig}, tamper: func(t *testing.T, l [][]byte) [][]byte {
			l = slices.Delete(l, 3, 4)
			rechain(t, l, 3)
			return l
		}},
		{name: "removed signature record", tampered: true, want: []string{KindSeqGap}, tamper: func(t *testing.T, l [][]byte) [][]byte {
			i := indexOf(t, l, TypeSig, 1)
			return slices.Delete(l, i, i+1)
		}},
		{name: "reordered", tampered: true, want: []string{KindSeqOrder}, tamper: func(t *testing.T, l [][]byte) [][]byte {
			l[3], l[4] = l[4], l[3]
			return l
		}},
		{name: "reordered and re-chained", tampered: true, want: []string{KindBadSig}, tamper: func(t *testing.T, l [][]byte) [][]byte {
			l[3], l[4] = l[4], l[3]
			rechain(t, l, 3)
			return l
		}},
		{name: "duplicated", tampered: true, want: []string{KindSeqOrder}, tamper: func(t *testing.T, l [][]byte) [][]byte {
			return slices.Insert(l, 4, bytes.Clone(l[3]))
		}},
		{name: "inserted forgery", tampered: true, want: []string{KindSeqOrder}, tamper: func(t *testing.T, l [][]byte) [][]byte {
			r := parse(t, l[3])
			r.DecisionID, r.Seq, r.Prev = "forged", r.Seq+1, lineHash(l[3])
			return slices.Insert(l, 4, encode(t, r))
		}},
		{name: "inserted and re-chained", tampered: true, want: []string{KindBadSig}, tamper: func(t *testing.T, l [][]byte) [][]byte {
			r := parse(t, l[3])
			r.DecisionID = "forged"
			l = slices.Insert(l, 4, encode(t, r))
			rechain(t, l, 4)
			return l
		}},
		{name: "truncated after a signature", want: []string{KindOpenEnd}, okUnderSigned: true, tamper: func(t *testing.T, l [][]byte) [][]byte {
			return l[:indexOf(t, l, TypeSig, 2)+1]
		}},
		{name: "truncated tail", want: []string{KindUnsigned, KindOpenEnd}, tamper: func(t *testing.T, l [][]byte) [][]byte {
			return l[:len(l)-2] // the close record and its signature
		}},
		{name: "cut last line", tampered: true, want: []string{KindInvalid}, tamper: func(t *testing.T, l [][]byte) [][]byte {
			l[len(l)-1] = l[len(l)-1][:10]
			return l
		}},
		{name: "forged signature", tampered: true, want: []string{KindBadSig}, tamper: func(t *testing.T, l [][]byte) [][]byte {
			i := indexOf(t, l, TypeSig, 0)
			r := parse(t, l[i])
			r.Sig = base64.StdEncoding.EncodeToString(make([]byte, ed25519.SignatureSize))
			l[i] = encode(t, r)
			rechain(t, l, i+1)
			return l
		}},
		{name: "signed with another key", tampered: true, want: []string{KindBadSig}, tamper: func(t *testing.T, l [][]byte) [][]byte {
			i := len(l) - 1
			r := parse(t, l[i])
			r.KeyID = ""
			r.Sig = base64.StdEncoding.EncodeToString(ed25519.Sign(otherKey, sigMessage(r.Seq, r.Time, r.Prev)))
			l[i] = encode(t, r)
			return l
		}},
		{name: "edited last signature record", tampered: true, want: []string{KindBadSig}, tamper: func(t *testing.T, l [][]byte) [][]byte {
			i := len(l) - 1
			r := parse(t, l[i])
			r.Time = "2020-01-01T00:00:00Z"
			l[i] = encode(t, r)
			return l
		}},
		{name: "not JSON", tampered: true, want: []string{KindInvalid}, wantLine: 6, tamper: func(t *testing.T, l [][]byte) [][]byte {
			l[5] = []byte("{this is not json")
			return l
		}},
		{name: "inserted garbage line", tampered: true, want: []string{KindInvalid}, tamper: func(t *testing.T, l [][]byte) [][]byte {
			return slices.Insert(l, 5, []byte(`{"seq":0}`))
		}},
		{name: "head removed", want: []string{KindAnchor}, okUnderSigned: true, tamper: func(t *testing.T, l [][]byte) [][]byte {
			return l[1:]
		}},
		{name: "fake chain restart", tampered: false, want: []string{KindRestart, KindUnsigned}, tamper: func(t *testing.T, l [][]byte) [][]byte {
			// Drop records 3.. up to the last signature and restart a chain
			// there: everything before is left unsigned.
			r := Record{Seq: 1, Time: "2024-01-01T00:00:00Z", Type: TypeOpen}
			l = append(l[:3:3], encode(t, r))
			return l
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lines := make([][]byte, len(base))
			for i := range base {
				lines[i] = bytes.Clone(base[i])
			}
			lines = tc.tamper(t, lines)
			pub := testPub()
			if tc.pub != nil {
				pub = nil
			}
			rep, err := Verify(pub, Source{Name: "audit.log", R: bytes.NewReader(joinLines(lines))})
			if err != nil {
				t.Fatal(err)
			}
			var text strings.Builder
			rep.WriteText(&text, false)
			got := kinds(rep)
			for _, k := range tc.want {
				if !slices.Contains(got, k) {
					t.Errorf("want a %s problem, got %v\n%s", k, got, text.String())
				}
			}
			if len(tc.want) == 0 && len(got) > 0 {
				t.Errorf("want no problems, got\n%s", text.String())
			}
			if tc.wantLine > 0 && len(rep.Problems) > 0 && rep.Problems[0].Line != tc.wantLine {
				t.Errorf("first problem at line %d, want %d\n%s", rep.Problems[0].Line, tc.wantLine, text.String())
			}
			if rep.Tampered() != tc.tampered {
				t.Errorf("Tampered() = %v, want %v\n%s", rep.Tampered(), tc.tampered, text.String())
			}
			if rep.OK(true) != tc.okUnderSigned {
				t.Errorf("OK(requireSigned) = %v, want %v\n%s", rep.OK(true), tc.okUnderSigned, text.String())
			}
			for _, p := range rep.Problems {
				if p.Line == 0 || p.File != "audit.log" {
					t.Errorf("problem without a location: %+v", p)
				}
			}
		})
	}
}

// TestVerifyUnsignedLog: a log written without a key verifies by its chain;
// with a key given every record is unsigned, which --require-signed refuses.
func TestVerifyUnsignedLog(t *testing.T) {
	lines := writeLog(t, 5, Config{})
	rep, err := Verify(nil, Source{R: bytes.NewReader(joinLines(lines))})
	if err != nil || len(rep.Problems) != 0 || rep.Decisions != 5 || rep.Records != 7 || !rep.OK(false) || rep.OK(true) {
		t.Fatalf("%v %+v", err, rep)
	}
	rep, _ = Verify(testPub(), Source{R: bytes.NewReader(joinLines(lines))})
	if !slices.Equal(kinds(rep), []string{KindUnsigned}) || rep.Unsigned != 7 || !rep.OK(false) || rep.OK(true) {
		t.Fatalf("%+v", rep)
	}
	// Without a key an edit is still caught unless it is the last record.
	lines[2] = bytes.Replace(lines[2], []byte(`"block"`), []byte(`"allow"`), 1)
	rep, _ = Verify(nil, Source{R: bytes.NewReader(joinLines(lines))})
	if !rep.Tampered() {
		t.Fatal("edit not found")
	}
}

func TestVerifyEmpty(t *testing.T) {
	rep, err := Verify(testPub(), Source{R: strings.NewReader("")})
	if err != nil || len(rep.Problems) != 0 || rep.OK(true) || !rep.OK(false) {
		t.Fatalf("%v %+v", err, rep)
	}
}

func TestVerifyLongLine(t *testing.T) {
	lines := writeLog(t, 3, Config{})
	long := append([]byte(`{"seq":3,"x":"`), bytes.Repeat([]byte("a"), maxLine+10)...)
	lines = slices.Insert(lines, 2, append(long, `"}`...))
	rep, err := Verify(nil, Source{R: bytes.NewReader(joinLines(lines))})
	if err != nil || !slices.Contains(kinds(rep), KindInvalid) {
		t.Fatalf("%v %v", err, kinds(rep))
	}
}
