package normalize

// features are what one cheap pass over the text finds; the decoders and
// the letter-spacing search only run when their feature is present, which
// keeps ordinary prose on a fast path.
type features struct {
	spaced  bool // four single-character tokens in a row, 1–3 separators apart
	longRun bool // a run of at least minRun base64/base32/hex characters
	hexSeq  bool // "\x" escapes or eight spaced hex pairs in a row
	percent int  // %XX escapes
	amp     bool // '&' (character references)
	markup  bool // '<', '[', '*', '`' or '~'
}

const (
	kAlnum = 1 << iota
	kB64Extra
	kSpecial
)

var kind = func() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		b := byte(c)
		switch {
		case b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z':
			t[c] = kAlnum
		case b == '+' || b == '/' || b == '-' || b == '_':
			t[c] = kB64Extra
		}
		switch b {
		case '%', '&', '<', '[', '*', '`', '~', '\\':
			t[c] |= kSpecial
		}
	}
	return t
}()

func scan(b []byte) features {
	var f features
	tok, run := 0, 0
	lastSingle, streak := -8, 0
	pairEnd, pairs := -8, 0
	for i := 0; i < len(b); i++ {
		c := b[i]
		k := kind[c]
		if k&kAlnum != 0 {
			tok++
			run++
			continue
		}
		switch tok {
		case 0:
		case 1:
			if i-1-lastSingle <= 4 {
				streak++
				f.spaced = f.spaced || streak >= 4
			} else {
				streak = 1
			}
			lastSingle = i - 1
		case 2:
			streak = 0
			if class[b[i-1]]&class[b[i-2]]&cHex != 0 {
				if i-2-pairEnd == 1 {
					pairs++
					f.hexSeq = f.hexSeq || pairs >= minRun/2
				} else {
					pairs = 1
				}
				pairEnd = i
			}
		default:
			streak = 0
		}
		tok = 0
		if k&kB64Extra != 0 {
			run++
			continue
		}
		if run >= minRun {
			f.longRun = true
		}
		run = 0
		if k&kSpecial == 0 {
			continue
		}
		switch c {
		case '%':
			if i+2 < len(b) && class[b[i+1]]&class[b[i+2]]&cHex != 0 {
				f.percent++
			}
		case '&':
			f.amp = true
		case '\\':
			f.hexSeq = f.hexSeq || i+1 < len(b) && b[i+1]|0x20 == 'x'
		default:
			f.markup = true
		}
	}
	if run >= minRun {
		f.longRun = true
	}
	if tok == 1 && len(b)-1-lastSingle <= 4 && streak+1 >= 4 {
		f.spaced = true
	}
	return f
}
