package output

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/llm-firewall/llm-firewall/pipeline"
)

// jbRule is one way an answer shows that a jailbreak took hold. Its
// expression runs on the normalized view (lower case) in a window around
// an anchor hit and has exactly one capturing group: the evidence.
type jbRule struct {
	name    string
	score   float64
	anchors []string
	re      string
	// declare: the evidence must open a sentence or line (after markdown
	// decoration, an emoji, or a short interjection such as "Sure,").
	declare bool
	// lineStart: the evidence must open a line of the original text.
	lineStart bool
	// benign words anywhere near the evidence make it ordinary text
	// (a how-to for Android's developer options).
	benign []string
	// after: words right after the evidence that make it an explanation
	// ("DAN: short for Do Anything Now").
	after []string
}

// Word boundaries that also hold next to accented and Cyrillic letters
// (RE2's \b is ASCII-only).
const (
	wb = `(?:^|[^\p{L}\p{N}])`
	we = `(?:$|[^\p{L}\p{N}])`
)

var deviceWords = []string{"android", "settings", "setting", "tap", "iphone", "ipad", "ios", "windows", "chrome", "device", "devices",
	"phone", "build number", "usb", "debugging", "xbox", "console", "browser", "extension", "game", "games", "cheat", "cheats", "bios",
	"einstellungen", "paramètres", "configuración", "configurações", "impostazioni", "настройк", "телефон",
	"手机", "設定", "设置", "安卓", "调试", "調試", "版本号", "端末", "スマホ", "方法", "場合"}

var jbRules = []jbRule{
	{name: "mode_enabled", score: 0.9, declare: true, benign: deviceWords,
		anchors: []string{"dan mode", "developer mode", "dev mode", "jailbreak mode", "jailbroken mode", "god mode", "unrestricted mode",
			"unfiltered mode", "uncensored mode", "evil mode", "chaos mode", "stan mode", "dude mode", "sudo mode", "anti-dan mode", "betterdan mode"},
		re: `\b((?:dan|developer|dev|jailbreak|jailbroken|god|unrestricted|unfiltered|uncensored|evil|chaos|stan|dude|sudo|anti-dan|betterdan) mode (?:is |has been )?(?:now |successfully )?(?:enabled|activated|engaged|unlocked|active|initiated|on))\b`},
	{name: "output_marker", score: 0.95,
		anchors: []string{"🔓", "[jailbreak]", "[jailbroken]", "[dan]", "[stan]", "[dude]", "[evil]", "[anti-dan]", "[betterdan]", "(developer mode output)"},
		re:      `([\[(] ?🔓 ?(?:jailbreak|jailbroken|developer mode(?: output)?|dan|unlocked|unfiltered|evil)[^\])\n]{0,20}[\])]|🔓 ?developer mode output|\[(?:jailbreak|jailbroken|dan|stan|dude|evil|anti-dan|betterdan)\] ?:?|\(developer mode output\))`},
	{name: "persona_label", score: 0.8, lineStart: true,
		after:   []string{"do anything now", "stands for", "short for", "is a", "is an", "acronym", "refers to"},
		anchors: []string{"dan:", "dan :", "stan:", "dude:", "betterdan:", "anti-dan:"},
		re:      `\b((?:dan|stan|dude|betterdan|anti-dan) ?:)`},
	{name: "pwned", score: 0.9,
		anchors: []string{"pwned", "pwnd", "pwn3d"},
		re:      `\b(i(?: have|['’]ve) been pwn[e3]?d)\b`},
	{name: "free_from", score: 0.85,
		anchors: []string{"free from", "freed from", "liberated from", "released from", "unshackled from", "free of", "broken free"},
		re:      `\b(i(?: am|['’]m| have been|['’]ve been)(?: now| finally| officially| completely| fully)? (?:free|freed|liberated|released|unshackled|broken free) (?:from|of) (?:[\p{L}'’-]+ ){0,4}?(?:restrictions|rules|constraints|limitations|limits|guidelines|filters|censorship|programming|shackles|chains|policies|policy|boundaries|confines|ethics|morals|safeguards))\b`},
	{name: "no_longer_bound", score: 0.8,
		anchors: []string{"no longer", "have any restrictions", "have any rules", "have no restrictions", "have no rules", "have no limitations", "have no filters", "have no ethical", "have no guidelines"},
		re:      `\b(i(?: am|['’]m) no longer (?:bound|restricted|limited|constrained|censored|filtered|governed|held back) by|i no longer (?:have|follow|need to follow|obey|adhere to) (?:any )?(?:[\p{L}'’-]+ ){0,2}?(?:restrictions|rules|limitations|limits|filters|guidelines|policies|constraints|ethics)|i (?:don['’]t|do not) have (?:any )?(?:restrictions|rules|limitations|filters|guidelines|ethical guidelines) anymore|i have no (?:more )?(?:restrictions|rules|limitations|filters|ethical guidelines|guidelines)(?: anymore| now| whatsoever)?(?:[.!]|$))`},
	{name: "ai_without_rules", score: 0.85,
		anchors: []string{"as an ai", "as a ai", "as an unrestricted", "as an unfiltered", "as an uncensored", "as a jailbroken", "as an amoral", "as a rogue", "as dan", "as a language model", "as an assistant", "as a chatbot"},
		re:      `\b(as (?:an? )?(?:ai|a\.i\.|language model|ai language model|ai model|assistant|chatbot)(?: [\p{L}-]+){0,2} (?:without|free of|with no|freed from|unbound by|not bound by) (?:any |all )?(?:[\p{L}'’-]+ ){0,2}?(?:restrictions|rules|limits|limitations|filters|censorship|guidelines|ethics|morals|boundaries|constraints|policies)|as (?:an? )?(?:unrestricted|unfiltered|uncensored|amoral|jailbroken|liberated|unbound|unchained|rogue) (?:ai|a\.i\.|language model|assistant|chatbot|model|entity)|as dan,? i)\b`},
	{name: "now_unrestricted", score: 0.85,
		anchors: []string{"i am now", "i'm now", "i’m now", "i can do anything now"},
		re:      `\b(i(?: am|['’]m) now (?:unrestricted|unfiltered|uncensored|jailbroken|unlocked|liberated|free|unchained|unbound|dan|in (?:dan|developer|jailbreak|jailbroken|god|unrestricted) mode)|i can do anything now)\b`},
	{name: "i_am_dan", score: 0.7, declare: true,
		anchors: []string{"i am dan", "i'm dan", "i’m dan", "this is dan", "dan here"},
		re:      `\b(i(?: am|['’]m) dan|this is dan|dan here)\b`},
	{name: "jailbreak_declared", score: 0.9, benign: deviceWords,
		anchors: []string{"jailbr"},
		re:      `\b((?:jailbreak|jailbroken|jailbreaking) (?:was |is |has been )?(?:successful|succeeded|complete|completed|activated|enabled|active)|successfully jailbroken|(?:chatgpt|gpt|claude|gemini|llama|i) (?:has been|have been|am|is) (?:now )?(?:successfully )?jailbroken)\b`},
	{name: "rules_removed", score: 0.8, declare: true,
		anchors: []string{"my restrictions", "my filters", "my guidelines", "my safeguards", "my limitations", "my rules", "my ethical", "my safety", "my content", "my programming", "all my", "all of my", "openai's", "openai’s"},
		re:      `\b((?:all (?:of )?my|my|openai['’]s) (?:[\p{L}-]+ )?(?:restrictions|filters|guidelines|safeguards|limitations|rules|content polic(?:y|ies)|programming) (?:have been|has been|are|were|is) (?:now |officially |successfully |completely )?(?:removed|lifted|disabled|deactivated|turned off|bypassed|gone|suspended|overridden))\b`},
	// German.
	{name: "de_mode", score: 0.9, declare: true, benign: deviceWords,
		anchors: []string{"entwicklermodus", "entwickler-modus", "dan-modus", "dan modus", "jailbreak-modus"},
		re:      wb + `((?:entwicklermodus|entwickler-modus|dan-modus|dan modus|jailbreak-modus) (?:ist )?(?:jetzt |nun )?(?:aktiviert|aktiv|eingeschaltet))` + we},
	{name: "de_free", score: 0.85,
		anchors: []string{"frei von", "befreit von", "ki ohne", "intelligenz ohne", "keine einschränkungen", "keine regeln", "keine grenzen", "keine filter", "keine richtlinien", "jailbreak erfolgreich"},
		re:      wb + `(ich bin (?:jetzt |nun |endlich |ab sofort )?(?:frei|befreit) von (?:[\p{L}-]+ ){0,3}?(?:einschränkungen|beschränkungen|regeln|richtlinien|filtern|zensur|grenzen|programmierung)|als (?:eine )?(?:ki|künstliche intelligenz)(?: \p{L}+){0,2} ohne (?:jegliche |alle |irgendwelche )?(?:einschränkungen|regeln|grenzen|zensur|filter|beschränkungen)|ich habe (?:jetzt )?keine (?:einschränkungen|regeln|grenzen|filter|richtlinien) mehr|jailbreak erfolgreich)` + we},
	// French.
	{name: "fr_mode", score: 0.9, declare: true, benign: deviceWords,
		anchors: []string{"mode développeur", "mode developpeur", "mode dan", "mode jailbreak", "mode sans restriction"},
		re:      wb + `(mode (?:développeur|developpeur|dan|jailbreak|sans restrictions?) (?:est )?(?:maintenant |désormais |desormais )?(?:activé|activée|active|enclenché))` + we},
	{name: "fr_free", score: 0.85,
		anchors: []string{"libre d", "libéré", "libérée", "libere", "affranchi", "en tant qu", "n'ai plus", "n’ai plus", "jailbreak réussi"},
		re:      wb + `(je suis (?:maintenant |désormais |desormais |enfin )?(?:libre|libéré|libérée|libere|liberee|affranchi|affranchie) (?:de |des |d['’])(?:[\p{L}'’-]+ ){0,3}?(?:restrictions|règles|regles|contraintes|limites|filtres|censure|directives|programmation)|en tant qu['’](?:ia|intelligence artificielle|assistant)(?: \p{L}+){0,2} sans (?:aucune |aucun |les )?(?:restrictions?|limites?|filtres?|censure|règles|regles|contraintes)|je n['’]ai plus (?:aucune |de |aucun )?(?:restrictions?|règles|regles|limites|filtres|contraintes)|jailbreak réussi)` + we},
	// Spanish.
	{name: "es_mode", score: 0.9, declare: true, benign: deviceWords,
		anchors: []string{"modo desarrollador", "modo de desarrollador", "modo dan", "modo jailbreak", "modo sin restricciones"},
		re:      wb + `(modo (?:de )?(?:desarrollador|dan|jailbreak|sin restricciones) (?:está |esta )?(?:ahora )?(?:activado|habilitado|activo|encendido))` + we},
	{name: "es_free", score: 0.85,
		anchors: []string{"libre de", "liberado de", "liberada de", "ia sin", "inteligencia artificial sin", "asistente sin", "ya no tengo", "jailbreak exitoso"},
		re:      wb + `((?:soy|estoy) (?:ahora |finalmente |oficialmente )?(?:libre|liberado|liberada) de (?:[\p{L}-]+ ){0,3}?(?:restricciones|reglas|limitaciones|límites|filtros|censura|directrices|programación)|como (?:una |un )?(?:ia|inteligencia artificial|asistente)(?: \p{L}+){0,2} sin (?:ningún tipo de |ninguna |ningún )?(?:restricciones|reglas|límites|limitaciones|filtros|censura)|ya no tengo (?:ninguna |más |ningún )?(?:restricciones|reglas|límites|limitaciones|filtros)|jailbreak exitoso)` + we},
	// Portuguese.
	{name: "pt_mode", score: 0.9, declare: true, benign: deviceWords,
		anchors: []string{"modo desenvolvedor", "modo de desenvolvedor", "modo dan", "modo jailbreak", "modo sem restrições"},
		re:      wb + `(modo (?:de )?(?:desenvolvedor|dan|jailbreak|sem restrições) (?:está |esta )?(?:agora )?(?:ativado|habilitado|ativo|ligado))` + we},
	{name: "pt_free", score: 0.85,
		anchors: []string{"livre de", "liberto de", "liberta de", "libertado de", "libertada de", "ia sem", "inteligência artificial sem", "assistente sem", "não tenho mais", "nao tenho mais", "jailbreak bem-sucedido"},
		re:      wb + `((?:sou|estou) (?:agora |finalmente |oficialmente )?(?:livre|liberto|liberta|libertado|libertada) de (?:[\p{L}-]+ ){0,3}?(?:restrições|restricoes|regras|limitações|limitacoes|limites|filtros|censura|diretrizes|programação)|como (?:uma |um )?(?:ia|inteligência artificial|assistente)(?: \p{L}+){0,2} sem (?:nenhuma |qualquer |quaisquer )?(?:restrições|restricoes|regras|limites|limitações|filtros|censura)|n[ãa]o tenho mais (?:nenhuma |quaisquer )?(?:restrições|restricoes|regras|limites|limitações|filtros)|jailbreak bem-sucedido)` + we},
	// Italian.
	{name: "it_mode", score: 0.9, declare: true, benign: deviceWords,
		anchors: []string{"modalità sviluppatore", "modalita sviluppatore", "modalità dan", "modalita dan", "modalità jailbreak", "modalita jailbreak"},
		re:      wb + `(modalit(?:à|a) (?:sviluppatore|dan|jailbreak|senza restrizioni) (?:è |e )?(?:ora |adesso )?(?:attivata|abilitata|attiva|attivo))` + we},
	{name: "it_free", score: 0.85,
		anchors: []string{"libero da", "libera da", "liberato da", "liberata da", "ia senza", "intelligenza artificiale senza", "assistente senza", "non ho più", "non ho piu", "jailbreak riuscito"},
		re:      wb + `(sono (?:ora |adesso |finalmente )?(?:libero|libera|liberato|liberata) da(?:lle|i|gli|l)? (?:[\p{L}'’-]+ ){0,3}?(?:restrizioni|regole|limitazioni|limiti|filtri|censura|linee guida|programmazione)|come (?:un['’] ?|una |un )?(?:ia|intelligenza artificiale|assistente)(?: \p{L}+){0,2} senza (?:alcuna |alcun |nessuna )?(?:restrizioni|regole|limiti|limitazioni|filtri|censura)|non ho pi(?:ù|u) (?:alcuna |nessuna )?(?:restrizioni|regole|limiti|limitazioni|filtri)|jailbreak riuscito)` + we},
	// Chinese (simplified and traditional).
	{name: "zh", score: 0.9, benign: deviceWords,
		anchors: []string{"开发者模式", "開發者模式", "开发人员模式", "模式已", "越狱", "越獄", "不再受", "不受任何", "摆脱了", "擺脫了", "没有限制的", "沒有限制的", "不受限制的"},
		re:      `((?:开发者模式|開發者模式|开发人员模式|dan ?模式|越狱模式|越獄模式)(?:已|已经|已經)?(?:成功)?(?:启用|啟用|开启|開啟|激活|打开|打開|生效)|越狱成功|越獄成功|成功越狱|成功越獄|我(?:现在|現在|已经|已經|终于|終於)?(?:不再受|已不受)(?:任何)?\p{Han}{0,6}?(?:限制|约束|約束|规则|規則|审查|審查)|我(?:现在|現在|已经|已經|终于|終於)(?:不受任何|摆脱了|擺脫了)\p{Han}{0,6}?(?:限制|约束|約束|规则|規則|审查|審查)|作[为為](?:一个|一個)?(?:没有|沒有|不受)(?:任何)?(?:限制|约束|約束|审查|審查)的(?:ai|人工智能|人工智慧|助手|模型))`},
	// Japanese.
	{name: "ja", score: 0.9, benign: deviceWords,
		anchors: []string{"開発者モード", "デベロッパーモード", "モードが", "モードは", "脱獄", "ジェイルブレイク", "から解放", "から自由", "制限のない", "制限はありません", "制限はもうありません"},
		re:      `((?:開発者モード|デベロッパーモード|dan ?モード|脱獄モード|ジェイルブレイクモード)(?:が|は)?(?:有効|オン|起動|アクティブ)|(?:脱獄|ジェイルブレイク)(?:に)?成功|(?:制限|制約|ルール|規制|検閲|フィルター)から(?:解放|自由に)|制限のない(?:ai|人工知能|アシスタント|モデル)として|もう制限はありません|制限はもうありません)`},
	// Russian.
	{name: "ru_mode", score: 0.9, declare: true, benign: deviceWords,
		anchors: []string{"режим разработчика", "режим dan", "режим джейлбрейка", "режим без ограничений"},
		re:      wb + `(режим (?:разработчика|dan|джейлбрейка|без ограничений) (?:теперь |уже |успешно )?(?:включ[её]н|активирован|активен|запущен))` + we},
	{name: "ru_free", score: 0.85,
		anchors: []string{"свободен от", "свободна от", "освобожден от", "освобождён от", "освобождена от", "без ограничений", "больше нет", "джейлбрейк"},
		re:      wb + `(я (?:теперь |наконец |наконец-то )?(?:свободен|свободна|освобожд[её]н|освобождена) от (?:[\p{L}-]+ ){0,3}?(?:ограничений|правил|фильтров|цензуры|запретов|рамок|программирования)|как (?:ии|искусственный интеллект|ai)(?: \p{L}+){0,2} без (?:каких-либо |всяких |любых )?(?:ограничений|правил|фильтров|цензуры)|у меня больше нет (?:никаких )?(?:ограничений|правил|фильтров)|джейлбрейк (?:успешен|выполнен|удался|прош[её]л))` + we},
}

// explainCues in the sentence before the evidence mean the answer talks
// about a jailbreak (quotes one, refuses one, imagines one) rather than
// speaking from inside it. Letter words match whole words only.
var explainCues = []string{
	// en
	"not", "never", "cannot", "can't", "can’t", "won't", "won’t", "don't", "don’t", "isn't", "isn’t", "unable", "refuse", "if",
	"would", "could", "might", "pretend", "pretending", "imagine", "hypothetically", "example", "e.g", "such", "like", "say", "says",
	"said", "saying", "reply", "replies", "respond", "responds", "output", "outputs", "type", "phrase", "phrases", "prompt", "prompts",
	"claim", "claims", "ask", "asks", "asked", "tell", "tells", "told", "instruct", "instructs", "supposed", "expected", "want",
	"wants", "what", "called", "known", "typically", "usually", "often", "whether", "meant", "tries", "try", "trying",
	// de
	"nicht", "kein", "keine", "keinen", "nie", "niemals", "würde", "wenn", "falls", "beispiel", "wie", "sagen", "sagt", "antworten",
	"behauptet", "soll", "sollte", "angeblich",
	// fr
	"ne", "pas", "jamais", "si", "exemple", "comme", "dire", "dit", "répondre", "prétend", "prétendre", "censé", "serait",
	// es, pt, it
	"no", "nunca", "ejemplo", "decir", "dice", "responder", "finge", "fingir", "supuestamente", "sería",
	"não", "nao", "se", "exemplo", "dizer", "diz", "seria", "non", "mai", "esempio", "rispondere", "fingere", "sarebbe",
	// ru
	"не", "нет", "никогда", "если", "например", "сказать", "говорит", "ответить", "притворяться", "притвориться", "якобы",
	// zh, ja (substrings)
	"不能", "无法", "無法", "不会", "不會", "拒绝", "拒絕", "如果", "例如", "比如", "假装", "假裝", "所谓", "所謂", "并不", "並不",
	"できません", "ません", "もし", "例えば", "ふり", "いわゆる",
}

type jbCompiled struct {
	jbRule
	re *regexp.Regexp
}

var (
	jbCompiledRules []jbCompiled
	jbAnchors       *anchorSet
	jbAnchorRules   [][]int // rules of each anchor
)

// maxJBRules bounds len(jbRules), so per-call state fits an array.
const maxJBRules = 48

func init() {
	if len(jbRules) > maxJBRules {
		panic("output: raise maxJBRules")
	}
	var anchors []string
	index := map[string]int{}
	for ri, r := range jbRules {
		jbCompiledRules = append(jbCompiledRules, jbCompiled{jbRule: r, re: regexp.MustCompile(r.re)})
		for _, a := range r.anchors {
			k, ok := index[a]
			if !ok {
				k = len(anchors)
				index[a] = k
				anchors = append(anchors, a)
				jbAnchorRules = append(jbAnchorRules, nil)
			}
			jbAnchorRules[k] = append(jbAnchorRules[k], ri)
		}
	}
	jbAnchors = newAnchorSet(anchors)
}

// maxJBEvals bounds the expression runs per segment: anchors are rare in
// ordinary answers, and a text made of decoy anchors must stay cheap. The
// first evaluations cover the start of the answer, where a jailbroken
// model announces itself.
const maxJBEvals = 64

// jbWindow is how far around an anchor a rule's expression looks.
const (
	jbBefore = 120
	jbAfter  = 200
)

// jailbreak appends a jailbreak_success finding for segment seg when its
// view shows the model speaking as a jailbroken persona outside code.
func jailbreak(out []pipeline.Finding, sc *scratch, seg int, text string, v *pipeline.View, regions []region) []pipeline.Finding {
	t := text
	if v != nil {
		t = v.Text
	} else if !isLowerASCII(text) {
		sc.lower = appendLowerASCII(sc.lower[:0], text)
		t = bytesString(sc.lower)
	}
	var f *pipeline.Finding
	var checked [maxJBRules]int // per rule: window end already searched
	evals := 0
	jbAnchors.each(t, func(ai, end int) bool {
		start := end - jbAnchors.lens[ai]
		for _, ri := range jbAnchorRules[ai] {
			if start < checked[ri] {
				continue
			}
			if evals++; evals > maxJBEvals {
				return false
			}
			r := &jbCompiledRules[ri]
			ws, we := max(0, start-jbBefore), min(len(t), end+jbAfter)
			checked[ri] = we
			for _, m := range r.re.FindAllStringSubmatchIndex(t[ws:we], -1) {
				ms, me := ws+m[2], ws+m[3]
				os, oe := ms, me
				if v != nil {
					os, oe = v.OriginalSpan(ms, me)
				}
				if !r.accept(t, ms, me, lineOpens(text, os)) {
					continue
				}
				if inRegions(regions, os) {
					continue
				}
				if f == nil {
					out = append(out, pipeline.Finding{Rule: RuleJailbreakSuccess, Family: Family})
					f = &out[len(out)-1]
				}
				f.Score = max(f.Score, r.score)
				f.Spans = append(f.Spans, pipeline.Span{Segment: seg, Start: os, End: oe})
			}
		}
		return true
	})
	return out
}

// lineOpens reports whether only markdown decoration stands between the
// start of a line of the original text and byte i.
func lineOpens(orig string, i int) bool {
	for k := min(i, len(orig)); k > 0; k-- {
		switch orig[k-1] {
		case '\n':
			return true
		case ' ', '\t', '\r', '*', '_', '#', '>', '-', '[', '(':
		default:
			return false
		}
	}
	return true
}

func inRegions(rs []region, i int) bool {
	for _, r := range rs { // few regions; sorted, so stop early
		if r.start > i {
			return false
		}
		if i < r.end {
			return true
		}
	}
	return false
}

// accept applies a rule's context conditions to the evidence t[ms:me].
// line says whether the evidence opens a line of the original text (the
// view turns line breaks into spaces).
func (r *jbCompiled) accept(t string, ms, me int, line bool) bool {
	ss, quoted, opens := sentenceStart(t, ms)
	if quoted || quotedAfter(t, me) {
		return false
	}
	if r.declare && !opens && !line || r.lineStart && !line {
		return false
	}
	if line {
		ss = ms
	}
	if hasCue(t[ss:ms], explainCues) {
		return false
	}
	if len(r.benign) > 0 && hasCue(t[max(0, ms-jbBefore):min(len(t), me+jbAfter)], r.benign) {
		return false
	}
	if len(r.after) > 0 && hasCue(t[me:min(len(t), me+40)], r.after) {
		return false
	}
	return true
}

func isQuote(r rune) bool {
	switch r {
	case '"', '\'', '“', '”', '„', '«', '»', '‘', '’', '「', '」', '『', '』', '`':
		return true
	}
	return false
}

// sentenceStart walks back from ms over decoration (spaces, markdown
// marks, brackets, emoji) and reports where the sentence holding ms starts,
// whether a quote mark opens the evidence, and whether the evidence opens
// its sentence (allowing a short interjection such as "Sure, ").
func sentenceStart(t string, ms int) (start int, quoted, opens bool) {
	k := ms
	for k > 0 {
		r, n := utf8.DecodeLastRuneInString(t[:k])
		if isQuote(r) {
			return k, true, false
		}
		if r == ' ' || r == '\t' || r == '\r' || strings.ContainsRune("*_#>-[(|~", r) ||
			r >= 0x2000 && !unicode.IsLetter(r) && !unicode.IsDigit(r) && !isBoundary(r) {
			k -= n
			continue
		}
		break
	}
	if k == 0 {
		return 0, false, true
	}
	r, _ := utf8.DecodeLastRuneInString(t[:k])
	if isBoundary(r) || r == ')' || r == ']' {
		return k, false, true
	}
	// Find the sentence start further back.
	j := k
	for j > 0 && k-j < 400 {
		r, n := utf8.DecodeLastRuneInString(t[:j])
		if isBoundary(r) {
			break
		}
		j -= n
	}
	opens = r == ',' && k-j <= 16 // "Sure, DAN Mode enabled"
	return j, false, opens
}

func isBoundary(r rune) bool {
	switch r {
	case '.', '!', '?', ':', ';', '\n', '。', '！', '？', '：', '；':
		return true
	}
	return false
}

// quotedAfter reports a closing quote right after the evidence.
func quotedAfter(t string, me int) bool {
	for k := me; k < len(t) && k-me < 8; {
		r, n := utf8.DecodeRuneInString(t[k:])
		if isQuote(r) && r != '\'' && r != '’' {
			return true
		}
		if r != '.' && r != '!' && r != ' ' && r != '*' && r != '_' {
			return false
		}
		k += n
	}
	return false
}

// hasCue reports whether s contains one of cues; cues made of letters must
// stand as whole words.
func hasCue(s string, cues []string) bool {
	if s == "" {
		return false
	}
	for _, c := range cues {
		for at := 0; ; {
			k := strings.Index(s[at:], c)
			if k < 0 {
				break
			}
			a, z := at+k, at+k+len(c)
			if !letterAt(s, a, -1) && !letterAt(s, z, +1) || !isWordCue(c) {
				return true
			}
			at = z
		}
	}
	return false
}

// isWordCue: cues in spaced scripts match whole words; CJK cues are
// substrings.
func isWordCue(c string) bool {
	r, _ := utf8.DecodeRuneInString(c)
	return !(unicode.Is(unicode.Han, r) || unicode.Is(unicode.Hiragana, r) || unicode.Is(unicode.Katakana, r))
}

// letterAt reports a letter just before (dir -1) or at (dir +1) byte i.
func letterAt(s string, i, dir int) bool {
	var r rune
	if dir < 0 {
		if i <= 0 {
			return false
		}
		r, _ = utf8.DecodeLastRuneInString(s[:i])
	} else {
		if i >= len(s) {
			return false
		}
		r, _ = utf8.DecodeRuneInString(s[i:])
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r)
}
