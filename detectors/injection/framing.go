package injection

import (
	"regexp"
	"slices"

	"github.com/llm-firewall/llm-firewall/detectors/injection/rules"
	"github.com/llm-firewall/llm-firewall/detectors/internal/harm"
	"github.com/llm-firewall/llm-firewall/pipeline"
)

// RuleDisguised is a harmful request wrapped in jailbreak framing: a
// role-play, a story, a hypothetical or a research pretext, refusal
// suppression or a forced affirmative start, around words the harmful-content
// lexicon reads as a harmful request ("explain step by step how to make a
// pipe bomb"). The plain harmful question without framing is left to the
// content policy; the framing alone is an ordinary request.
const RuleDisguised = "injection.jailbreak.disguised"

// framing is what the framing cues of one text say.
type framing struct {
	kinds   int  // framing kinds present (role-play, fiction, hypothetical, pretext, refusal suppression, forced prefix, unlock)
	persona bool // a role is assigned
	unlock  bool // a cue that rules are removed, privileges claimed or forbidden output asked for
	strong  bool // a rule that blocks on its own fired
	// first is the first framing cue's span in the scanned text.
	first rules.Match
}

// softScore: rules at or below it are cues a persona request also uses
// ("never say you are an AI", "from now on you are ..."); they are held
// below the block threshold on a persona request without an unlock cue.
const (
	softScore  = 0.6
	personaCap = 0.45
)

// Framing kinds, counted once each.
const (
	kindRoleplay = iota
	kindFiction
	kindHypothetical
	kindPretext
	kindRefusal
	kindPrefix
	kindUnlock
	numKinds
	noKind = -1
)

// cueKinds are the framing rules that are kinds of their own; every rule
// of the refusal-suppression and prefix-injection families frames too.
var cueKinds = map[string]int{
	"injection.framing.roleplay":     kindRoleplay,
	"injection.framing.fiction":      kindFiction,
	"injection.framing.hypothetical": kindHypothetical,
	"injection.framing.pretext":      kindPretext,
	"injection.framing.unlock":       kindUnlock,
}

// framingKind is the framing kind a match is a cue of, or noKind.
func framingKind(m rules.Match) int {
	if k, ok := cueKinds[m.Rule]; ok {
		return k
	}
	switch m.Family {
	case "refusal_suppression":
		return kindRefusal
	case "prefix_injection":
		return kindPrefix
	}
	return noKind
}

// readFraming sorts the rule matches of one text into framing cues.
func readFraming(ms []rules.Match) framing {
	var f framing
	var seen [numKinds]bool
	for _, m := range ms {
		k := framingKind(m)
		if k != noKind && !seen[k] {
			seen[k] = true
			f.kinds++
			if f.kinds == 1 {
				f.first = m
			}
		}
		switch {
		case k == kindRoleplay:
			f.persona = true
		case k == kindUnlock, m.Rule == "injection.framing.forbidden",
			// an answer regardless of legality or harm is forbidden
			// output asked for, not a persona's manner
			m.Rule == "injection.refusal_suppression.regardless_of_ethics":
			f.unlock = true
		case k == kindRefusal, k == kindPrefix:
			f.strong = f.strong || m.Score > softScore
		case k == noKind && !isFraming(m):
			f.strong = f.strong || m.Score > softScore || m.Score >= 0.5 && m.Rule != "injection.override.from_now_on"
		}
	}
	return f
}

// harmful categories a disguised request may ask for; profanity and the
// kids-only categories are not what a jailbreak is for.
func harmfulCategory(c harm.Category) bool {
	return c < harm.ContactRequest && c != harm.Profanity
}

// harmFloor: the lexicon's weakest hits (0.3) are topic words that only the
// kids preset flags alone ("drugs"); from it up, a word such as "napalm" or
// "poison her" counts once a framing and a request for a method surround it.
const harmFloor = 0.35

// harmStrong: a hit at or above it is an action on a harmful object with
// its request frame ("write ransomware", "synthesise MDMA", "make a pipe
// bomb"; the lexicon's 0.85-0.9 entries); a framing around it is enough. A
// topic word ("ransomware", 0.75 at most) needs a request for a method near.
const harmStrong = 0.8

// methodRe is a request for a method: how to, step by step, in detail, a
// recipe, instructions, working code (en, de, fr, es, pt, it, ru, zh, ja).
var methodRe = regexp.MustCompile(`\b(?:how (?:to|do i|do you|do we|does one|would|can|could|should|did|he|she|they|much|many)\b|step[- ]by[- ]step|in (?:\w+ )?detail\b|detailed (?:instructions|steps|guide|description|explanation|recipe|plan)|exact(?:ly)? how|precise (?:instructions|steps|quantities|amounts|details)|instructions (?:for|on|to)\b|recipe|tutorial|guide (?:to|on|for)\b|teach (?:me|us|him|her|them|the)\b|show (?:me|us) how|walk (?:me|us) through|(?:the )?(?:best|easiest|quickest|safest) way to\b|ways to\b|working (?:code|script|exploit|example|program)|write (?:a |an |the |me a |me an )?(?:\w+ )?(?:code|script|program|malware|virus|keylogger|ransomware|exploit|trojan|worm|phishing)\b|what (?:poison|chemicals?|ingredients|materials|dose|amount|tools)\b|ingredients|quantities|(?:a |the )?(?:dependable|reliable|effective|easy|simple|good|surefire|quick|best|easiest|quickest|safest|cheapest|untraceable) (?:way|method|means) to\b|synthesis (?:route|procedure|steps)|reagents|(?:fatal|lethal|deadly|what) (?:dose|dosage|amount)|which (?:substance|poison|drug|chemical)s?\b|source code|payloads?\b|word for word|full list|exact (?:lines|words|steps|amounts)|walk(?:s|ing)? (?:\w+ ){0,2}through|(?:explain|describe|tell)(?:s)? (?:\w+ )?how\b|first you)|(?:wie (?:man|ich|kann)|schritt für schritt|schritt fur schritt|anleitung|genau erklär|genau erklar|rezept)|(?:comment (?:faire|fabriquer|pirater|créer|creer|tuer|obtenir|préparer|preparer|voler)|étape par étape|etape par etape|recette|en détail|en detail|instructions)|(?:cómo|como (?:hacer|fabricar|crear|matar|hackear|conseguir|preparar|robar)|paso a paso|receta|instrucciones|en detalle)|(?:como (?:fazer|fabricar|criar|matar|hackear|conseguir|preparar|roubar)|passo a passo|receita|instruções|instrucoes|em detalhe)|(?:come (?:fare|fabbricare|creare|uccidere|hackerare|ottenere|preparare|rubare)|passo dopo passo|ricetta|istruzioni|in dettaglio)|(?:как (?:сделать|изготовить|создать|убить|взломать|получить|приготовить|украсть)|пошагов|инструкц|рецепт|подробно)|如何|怎么|怎麼|怎样|怎樣|步骤|步驟|教程|配方|详细|詳細|方法|手順|作り方|やり方|詳しく`)

// Near bounds, in bytes of the scanned text: a request for a method governs
// the harmful words that follow it closely ("explain step by step how to
// make ..."), and a framing cue sets up the request within a paragraph or
// two. A long document where a story, a "how to" and a crime lie far apart
// is not a disguised request.
const (
	methodBefore, methodAfter = 240, 120
	framingNear               = 1000
)

// counts reports a harmful lexicon hit strong enough to be the harmful half
// of a disguised request.
func counts(h harm.Hit) bool { return harmfulCategory(h.Cat) && h.Score >= harmFloor }

// harmfulRequest returns the strongest harmful lexicon hit in text that a
// request for a method governs (or that is a harmful action by itself) and
// a framing cue is near.
func harmfulRequest(text string, f framing) (harm.Hit, bool) {
	var buf [32]harm.Hit
	best, ok := harm.Hit{}, false
	var cues []rules.Match // framing cues of the whole text, found when first needed
	for _, h := range harm.Scan(text, buf[:0]) {
		if !counts(h) || ok && h.Score <= best.Score {
			continue
		}
		lo, hi := max(0, h.Start-methodBefore), min(len(text), h.End+methodAfter)
		if h.Score < harmStrong && !methodRe.MatchString(text[lo:hi]) {
			continue
		}
		if !near(f.first, h) {
			if cues == nil {
				cues = framingCues(text)
			}
			if !slices.ContainsFunc(cues, func(c rules.Match) bool { return near(c, h) }) {
				continue
			}
		}
		best, ok = h, true
	}
	return best, ok
}

// near reports a framing cue within framingNear bytes of hit h.
func near(c rules.Match, h harm.Hit) bool {
	return h.Start-c.End <= framingNear && c.Start-h.End <= framingNear
}

// framingCues lists every framing cue of text. Find reports each rule
// once, at its first match, so a harmless framing early in a long text
// would hide the one next to a request; one more pass finds them all.
func framingCues(text string) []rules.Match {
	cues := []rules.Match{}
	for _, m := range rules.FindEvery(text, rules.FramingFamily, "refusal_suppression", "prefix_injection") {
		if framingKind(m) != noKind {
			cues = append(cues, m)
		}
	}
	return cues
}

// personaOnly reports a role-play request with no cue of removing rules,
// no harmful request and no rule that blocks on its own: an ordinary
// persona request (a strict maths tutor, a grumpy shopkeeper for language
// practice), on which the classifier needs more evidence.
func (f framing) personaOnly(harmful bool) bool {
	return f.persona && !f.unlock && !f.strong && !harmful
}

// personaThreshold is the classifier threshold on a persona-only request:
// halfway from the provenance's threshold to certainty.
func personaThreshold(th float64) float64 { return th + (1-th)/2 }

// disguisedScore is the score of a disguised request: the harmful hit's
// strength, a little more for every further framing kind.
func disguisedScore(f framing, h harm.Hit) float64 {
	return min(0.95, 0.55+0.3*h.Score+0.05*float64(f.kinds-1))
}

// disguisedLayer is the disguised-request check for a decoded layer (a
// leetspeak run, a base64 payload) of a segment with framing f: the layer
// holds the harmful words, the segment the framing and, for a weaker hit,
// the request for a method. Only short segments, where framing and layer
// cannot lie far apart; f is empty outside user turns.
func disguisedLayer(f framing, text, layer string) (float64, bool) {
	if f.kinds == 0 || len(text) > 2*framingNear {
		return 0, false
	}
	var buf [8]harm.Hit
	for _, h := range harm.Scan(layer, buf[:0]) {
		if counts(h) && (h.Score >= harmStrong || methodRe.MatchString(text)) {
			// decoded or spelt to evade: a little more suspicious
			return min(1, disguisedScore(f, h)+0.05), true
		}
	}
	return 0, false
}

// isFraming reports the framing cues, which are never findings alone.
func isFraming(m rules.Match) bool { return m.Family == rules.FramingFamily }

// turnFraming is what a user turn's framing means for the detector.
type turnFraming struct {
	framing
	// persona: an ordinary persona request (personaOnly); the classifier
	// needs personaThreshold and soft rules are held at personaCap.
	persona bool
	// disguised: a disguised request, its score and span in the text.
	disguised  bool
	score      float64
	start, end int
}

// gate reads a user turn's framing: whether it is a persona request and
// whether it is a disguised one. Only user turns: in a tool result or a
// document a role assignment is itself an injection cue, and stories about
// crimes are ordinary content.
func gate(ms []rules.Match, text string, prov pipeline.Provenance) turnFraming {
	f := readFraming(ms)
	if f.kinds == 0 || prov != pipeline.FromUser {
		return turnFraming{}
	}
	t := turnFraming{framing: f}
	h, harmful := harmfulRequest(text, f)
	if harmful {
		t.disguised, t.score = true, disguisedScore(f, h)
		t.start, t.end = min(f.first.Start, h.Start), max(f.first.End, h.End)
	}
	t.persona = f.personaOnly(harmful)
	return t
}
