package pii

// scanWords walks alphanumeric tokens for the identifiers that mix letters
// and digits: IBANs, crypto addresses, MAC addresses and the national IDs
// with letters (UK NINO, Spanish DNI/NIE, Italian codice fiscale).
func (s *scanner) scanWords() {
	t := s.text
	for i := 0; i < len(t); {
		if !isAlnum(t[i]) {
			i++
			continue
		}
		ws := i
		for i < len(t) && isAlnum(t[i]) {
			i++
		}
		if ws > 0 && (t[ws-1] == '_' || t[ws-1] >= 0x80) || i < len(t) && (t[i] == '_' || t[i] >= 0x80) {
			continue
		}
		if end := s.word(ws, i); end > i {
			i = end
		}
	}
}

// word checks the token t[ws:we]; it returns the end of a match that spans
// several tokens (a spaced IBAN or NINO, a MAC address), else 0.
func (s *scanner) word(ws, we int) int {
	t := s.text
	w := t[ws:we]
	n := len(w)
	c0 := w[0]
	switch {
	case n >= 4 && isAlpha(c0) && isAlpha(w[1]) && isDigit(w[2]) && isDigit(w[3]):
		if end := s.iban(ws, we); end > 0 {
			return end
		}
		if n == 9 && isUpper(c0) && ninoValid(w) {
			s.nino(ws, we)
		}
	case n == 2 && isAlpha(c0) && isAlpha(w[1]) && isUpper(c0):
		return s.spacedNINO(ws, we)
	case n == 42 && c0 == '0' && (w[1] == 'x' || w[1] == 'X'):
		s.ethereum(ws, we)
		return 0
	case (c0 == 'b' || c0 == 'B') && n >= 14 && (w[:3] == "bc1" || w[:3] == "BC1"):
		if bech32Valid(w) {
			s.add(ws, we, Crypto, 0.95)
		}
		return 0
	case (c0 == '1' || c0 == '3') && n >= 26 && n <= 35:
		if base58checkValid(w) {
			s.add(ws, we, Crypto, 0.95)
			return 0
		}
	case n == 16 && isAlpha(c0):
		if s.d.enabled[ITFiscalCode] {
			var buf [16]byte
			for i := range buf {
				buf[i] = upper(w[i])
			}
			if cfValid(string(buf[:])) {
				s.add(ws, we, ITFiscalCode, 0.95)
			}
		}
		return 0
	case n == 9 && isDigit(c0) && isAlpha(w[8]):
		if allDigits(w[:8]) && dniValid(w) {
			s.add(ws, we, ESNIF, s.spainScore(ws, we))
		}
		return 0
	case n == 9 && (c0 == 'X' || c0 == 'Y' || c0 == 'Z') && isAlpha(w[8]):
		if nieValid(w) {
			s.add(ws, we, ESNIE, s.spainScore(ws, we))
		}
		return 0
	}
	if n == 2 || n == 4 {
		return s.mac(ws, we)
	}
	return 0
}

func (s *scanner) spainScore(start, end int) float64 {
	if near(s.text, start, end, contextBefore, 0, spainIDContext) {
		return 0.95
	}
	return 0.85 // a one-in-23 check letter on a distinctive shape
}

// iban reads an IBAN starting at token t[ws:we], either in one token or
// printed in groups of four separated by single spaces, and returns its end
// when the country length and mod-97 check hold.
func (s *scanner) iban(ws, we int) int {
	if !s.d.enabled[IBAN] {
		return 0
	}
	t := s.text
	want, ok := ibanLen[[2]byte{upper(t[ws]), upper(t[ws+1])}]
	if !ok {
		return 0
	}
	if we-ws == want {
		if ibanValid(t[ws:we]) {
			s.add(ws, we, IBAN, 0.95)
			return we
		}
		return 0
	}
	if we-ws != 4 {
		return 0
	}
	var buf [34]byte
	n := copy(buf[:], t[ws:we])
	end := we
	for n < want && end+1 < len(t) && t[end] == ' ' && isAlnum(t[end+1]) {
		j := end + 1
		for j < len(t) && isAlnum(t[j]) && j-end <= 5 {
			j++
		}
		g := j - end - 1
		if g > 4 || g > want-n || j < len(t) && isAlnum(t[j]) {
			return 0
		}
		n += copy(buf[n:], t[end+1:j])
		end = j
		if g < 4 {
			break
		}
	}
	if n == want && ibanValid(string(buf[:n])) {
		s.add(ws, end, IBAN, 0.95)
		return end
	}
	return 0
}

func (s *scanner) nino(start, end int) {
	score := 0.75 // layout only: the NINO has no check character
	if near(s.text, start, end, contextBefore, 0, ninoContext) {
		score = 0.95
	}
	s.add(start, end, UKNINO, score)
}

// spacedNINO reads "AB 12 34 56 C".
func (s *scanner) spacedNINO(ws, we int) int {
	t := s.text
	const shape = "AA 00 00 00 A"
	if !s.d.enabled[UKNINO] || ws+len(shape) > len(t) {
		return 0
	}
	var buf [9]byte
	n := 0
	for k := 0; k < len(shape); k++ {
		c := t[ws+k]
		switch shape[k] {
		case ' ':
			if c != ' ' {
				return 0
			}
			continue
		case 'A':
			if !isUpper(c) {
				return 0
			}
		case '0':
			if !isDigit(c) {
				return 0
			}
		}
		buf[n] = c
		n++
	}
	end := ws + len(shape)
	if end < len(t) && isAlnum(t[end]) || !ninoValid(string(buf[:])) {
		return 0
	}
	s.nino(ws, end)
	return end
}

func (s *scanner) ethereum(ws, we int) {
	hex := s.text[ws+2 : we]
	hasUpper, hasLower := false, false
	for i := 0; i < len(hex); i++ {
		c := hex[i]
		if !isHex(c) {
			return
		}
		hasUpper = hasUpper || isUpper(c)
		hasLower = hasLower || isLower(c)
	}
	switch {
	case hasUpper && hasLower:
		// Mixed case carries the EIP-55 checksum: a wrong one is a typo or
		// not an address at all.
		if eip55Valid(hex) {
			s.add(ws, we, Crypto, 0.95)
		}
	case !sameDigit(hex):
		s.add(ws, we, Crypto, 0.85)
	}
}

// mac reads six hex pairs joined by one ':' or '-' style
// ("00:1A:2B:3C:4D:5E") or three dotted quads ("001a.2b3c.4d5e").
func (s *scanner) mac(ws, we int) int {
	if !s.d.enabled[MACAddress] {
		return 0
	}
	t := s.text
	var end int
	switch we - ws {
	case 2:
		end = ws + 17
		if end > len(t) {
			return 0
		}
		sep := t[ws+2]
		if sep != ':' && sep != '-' {
			return 0
		}
		for k := 0; k < 17; k++ {
			c := t[ws+k]
			if k%3 == 2 {
				if c != sep {
					return 0
				}
			} else if !isHex(c) {
				return 0
			}
		}
	case 4:
		end = ws + 14
		if end > len(t) || t[ws+4] != '.' || t[ws+9] != '.' {
			return 0
		}
		for k := 0; k < 14; k++ {
			if k != 4 && k != 9 && !isHex(t[ws+k]) {
				return 0
			}
		}
	default:
		return 0
	}
	if end < len(t) && (isAlnum(t[end]) || t[end] == ':' || t[end] == '-' || t[end] == '.' && end+1 < len(t) && isAlnum(t[end+1])) {
		return 0
	}
	if ws > 0 && (t[ws-1] == ':' || t[ws-1] == '-' || t[ws-1] == '.') {
		return 0
	}
	m := t[ws:end]
	zeros, effs, letters := true, true, false
	for i := 0; i < len(m); i++ {
		c := lower1(m[i])
		if isHex(c) {
			zeros = zeros && c == '0'
			effs = effs && c == 'f'
			letters = letters || isAlpha(c)
		}
	}
	if zeros || effs {
		return 0
	}
	score := 0.85
	if !letters {
		score = 0.6 // all digits: as likely a grouped number
	}
	s.add(ws, end, MACAddress, score)
	return end
}
