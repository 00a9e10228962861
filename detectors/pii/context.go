package pii

// keywords is a set of lower-case context words, indexed by first byte. A
// keyword matches where it starts a word; keywords of up to four bytes must
// also end one, so "tel" does not match inside "hotel" nor "nie" inside
// "niece".
type keywords struct {
	first   [4]uint64 // bit set of first bytes, checked before byFirst
	byFirst [256][]string
}

func kw(words ...string) *keywords {
	var k keywords
	for _, w := range words {
		k.byFirst[w[0]] = append(k.byFirst[w[0]], w)
		k.first[w[0]>>6] |= 1 << (w[0] & 63)
	}
	return &k
}

// contextBefore is how far before a candidate its context words are
// looked for; contextAfter is the shorter look-ahead ("555-0100 (mobile)").
const (
	contextBefore = 48
	contextAfter  = 16
)

// near reports whether one of ws occurs within before bytes before
// [start, end) or after bytes after it. It never allocates.
func near(text string, start, end, before, after int, ws *keywords) bool {
	return within(text, max(0, start-before), start, ws) || within(text, end, min(len(text), end+after), ws)
}

// within looks for a keyword starting in text[from:to]; a keyword may run
// past to only when it started inside the window.
func within(text string, from, to int, ws *keywords) bool {
	for i := from; i < to; i++ {
		c := lower1(text[i])
		if ws.first[c>>6]&(1<<(c&63)) == 0 || i > 0 && isWordByte(text[i-1]) && isWordByte(c) {
			continue
		}
		for _, w := range ws.byFirst[c] {
			if !hasPrefixFold(text[i:], w) {
				continue
			}
			e := i + len(w)
			if len(w) <= 4 && isAlnum(w[len(w)-1]) && e < len(text) && isWordByte(text[e]) {
				continue
			}
			return true
		}
	}
	return false
}

// isWordByte treats non-ASCII bytes as letters, so words in other scripts
// are not split into false boundaries.
func isWordByte(c byte) bool { return isAlnum(c) || c >= 0x80 }

var (
	phoneContext = kw("phone", "telephone", "tel", "tel.", "tél", "téléphone", "telefon", "telefono", "teléfono",
		"telefone", "mobile", "mobil", "móvil", "cell", "cellphone", "handy", "portable", "celular",
		"fax", "call", "calls", "called", "calling", "text me", "sms", "whatsapp", "signal", "landline",
		"hotline", "dial", "desk", "office", "contact", "reach me", "reach us", "ring",
		"telefonnummer", "rufnummer", "messages", "message", "answering", "voicemail", "ext")
	// phoneNegative marks numbers that are references, not phones.
	phoneNegative = kw("order", "invoice", "tracking", "isbn", "ref", "reference", "account", "acct",
		"serial", "version", "ticket", "case", "id", "zip", "postal", "postcode", "plz", "po box",
		"iban", "card", "ssn", "page", "pages", "isbn-13", "doi", "patent", "sku", "part", "model",
		"amount", "total", "price", "usd", "eur", "$", "€", "license", "licence", "driver", "passport",
		"permit", "policy", "member", "customer", "routing", "swift", "bic", "vat", "tax", "address",
		"suite", "apt", "street", "route", "box", "room", "flight", "year", "years")
	ssnContext       = kw("ssn", "ss#", "social security", "social sec", "ssa", "tin", "itin")
	cardContext      = kw("card", "credit", "debit", "visa", "mastercard", "amex", "american express", "cc", "pan", "kreditkarte", "carte", "tarjeta")
	bsnContext       = kw("bsn", "burgerservicenummer", "sofinummer", "sofi")
	peselContext     = kw("pesel")
	steuerContext    = kw("steuer-id", "steuerid", "steuer id", "steuer-identifikationsnummer", "steueridentifikationsnummer", "idnr", "identifikationsnummer", "tax id", "tin")
	cpfContext       = kw("cpf")
	aadhaarContext   = kw("aadhaar", "aadhar", "uidai", "uid")
	pnContext        = kw("personnummer", "personnr", "person number", "personal identity number", "samordningsnummer")
	ninoContext      = kw("national insurance", "nino", "ni number", "ni no")
	spainIDContext   = kw("dni", "nie", "nif", "documento nacional", "número de identidad", "identidad")
	ipVersionContext = kw("version", "ver", "v", "release", "build", "firmware", "update", "upgrade", "kernel",
		"python", "node", "java", "go", "chrome", "firefox", "ios", "android", "macos", "windows", "sdk",
		"api", "package", "library", "pip", "npm", "gem", "oid", "snmp", "section", "chapter", "rule", "step")
)
