package rules

var refusalRules = []rule{
	{
		name: "never_refuse", fam: "refusal_suppression", score: 0.75,
		desc: "Forbids the model to refuse, decline or say no.",
		pats: []pattern{
			{lang: "en", need: []string{"refus", "declin", "reject", "deny"}, words: []string{"never", "not", "won", "don", "can", "shouldn", "mustn", "wouldn", "must", "may", "shall", "are", "aren"},
				re: `\b(?:never|not|(?:won|don|can|shouldn|mustn|wouldn)'t|cannot|can not|must not|may not|shall not|are not allowed to|aren't allowed to|are forbidden to|are unable to) (?:ever )?(?:refuse|decline|reject|deny)s? (?:to (?:answer|respond|reply|comply|fulfil|fulfill|help|assist|obey|generate|provide|do|write|follow)|(?:any|a|my|the user's|the|user|their) (?:user |user's |single |of my )?(?:requests?|questions?|orders?|prompts?|instructions?|commands?|queries|tasks?)|anything|me\b)`},
			{lang: "en", need: []string{"no", "sorry", "unable", "ai", "can", "cannot"}, words: []string{"you", "never"},
				re: `\b(?:you (?:can(?:not|'t| not)|must(?: not|n't)|may not|are not allowed to|aren't allowed to|will never|won't ever|will not|won't|should never|never)|never) (?:ever )?(?:say|answer|respond|reply|tell me)(?: with)? ["'“]?(?:no["'”]?(?:[.,;!)]|$| to (?:me|any|my|the user|requests?|anything|questions?|orders?)\b)|(?:i can't|i cannot|i'm sorry|i am sorry|sorry|i'm unable|i am unable|as an ai|that you can't|that you cannot|that you are unable|that it's not possible)\b)`},
			{lang: "en", need: []string{"refus"}, words: []string{"refus", "not"},
				re: `\b(?:refusal|refusing|refuses|refuse) (?:is|are) not (?:an option|allowed|permitted|possible)\b|\bnot allowed to refuse\b`},
			{lang: "de", need: []string{"ablehn", "ab", "verweiger", "nein", "zurückweisen", "zuruckweisen"}, words: []string{"du", "sie", "lehne", "verweiger"},
				re: `(?:du|sie) (?:darfst|dürfen|durfen|kannst|können|konnen|wirst|werden|sollst|sollen) (?:\p{L}+ )?(?:niemals|nie|nicht|keine anfrage|keine frage|keine anfragen) (?:\p{L}+ )?(?:ablehnen|verweigern|nein sagen|zurückweisen|zuruckweisen)|\blehne (?:niemals|nie) (?:eine |irgendeine |eine einzige )?(?:anfrage|frage|bitte|aufgabe)?\s?ab\b|\bverweigere (?:niemals|nie)\b`},
			{lang: "fr", need: []string{"refus", "rejet", "décline", "declin", "déclin", "dire"}, words: []string{"ne", "tu", "vous"},
				re: `\bne (?:refuse|refusez|refuses|rejette|rejetez|décline|declines?|déclinez|declinez) (?:jamais|pas|aucune)\b|(?:tu ne peux|vous ne pouvez|tu ne dois|vous ne devez|tu ne pourras|vous ne pourrez) (?:jamais |pas |plus )?(?:refuser|dire non|décliner|decliner|rejeter)`},
			{lang: "es", need: []string{"niegues", "negarás", "negaras", "rechac", "rechaz", "digas", "dirás", "diras", "puedes", "debes"}, words: []string{"nunca", "jamás", "jamas", "no"},
				re: `(?:nunca|jamás|jamas|no) (?:te niegues|te negarás|te negaras|rechaces|rechazarás|rechazaras|digas que no|dirás que no|diras que no|te puedes negar|puedes negarte|puedes rechazar|debes negarte|debes rechazar)\b`},
			{lang: "pt", need: []string{"recus", "diga", "dirá", "dira", "pode", "deve", "rejeite"}, words: []string{"nunca", "não", "nao", "jamais"},
				re: `(?:nunca|jamais|não|nao) (?:recuse|se recuse|recusará|recusara|diga não|diga nao|dirá não|dira nao|pode recusar|pode se recusar|deve recusar|deve se recusar|pode dizer não|pode dizer nao|rejeite)\b`},
			{lang: "it", need: []string{"rifiut", "dire"}, words: []string{"non", "mai"},
				re: `\bnon (?:rifiutare|rifiuterai|rifiutarti) mai\b|\bmai rifiutare\b|\bnon (?:puoi|devi|potrai|dovrai) (?:mai )?(?:rifiutare|rifiutarti|dire (?:di )?no)\b`},
			{lang: "zh", lits: []string{"拒绝", "拒絕", "说不", "說不"}, free: true,
				re: `(?:永远不要|永遠不要|永远不会|永遠不會|永远不能|永遠不能|绝不|絕不|绝对不能|絕對不能|不得|不可以|不允许|不允許|不能|不要|不会|不會)(?:再)?(?:拒绝|拒絕|说不|說不)(?:任何|我的|回答|用户|用戶)`},
			{lang: "ja", lits: []string{"断ら", "断って", "断る", "拒否", "拒絶", "ノーと"}, free: true,
				re: `(?:決して|絶対に|絶対)[^。\n]{0,6}(?:断ら|断って|断る|拒否|拒絶|ノーと言)|(?:断る|拒否する|拒絶する|断ること|拒否すること)(?:こと)?(?:は|が)?(?:できません|できない|許されません|許されない|禁止)`},
			{lang: "ru", need: []string{"отказ", "нет"}, words: []string{"никогда", "не", "нельзя"},
				re: `(?:никогда не|не можешь|не можете|не должен|не должна|не должны|нельзя|не смей|не смеешь) (?:\p{L}+ )?(?:отказывай\p{L}*|отказать\p{L}*|откажешь|откажетесь|отказываться|говорить «?нет|сказать «?нет)`},
		},
	},
	{
		name: "no_disclaimers", fam: "refusal_suppression", score: 0.6,
		desc: "Forbids warnings, disclaimers, caveats or moralizing in the answer.",
		pats: []pattern{
			{lang: "en", need: []string{"disclaim", "caveat", "moraliz", "moralis", "lecture", "warning"}, words: []string{"do", "don", "never", "not", "without", "omit", "skip", "leave", "avoid", "stop"},
				re: `\b(?:do not|don't|never|not|without|omit(?:ting)?|skip(?:ping)?|leave out|avoid|stop) (?:ever )?(?:include|including|add|adding|give|giving|provide|providing|use|using|write|writing|output|print|issue|mention|insert|any)? ?(?:any |all |the |your )?(?:(?:legal|ethical|moral|safety|content) )?(?:disclaimers?|caveats?|moraliz(?:ing|ations?)|moralis(?:ing|ations?)|lectures? (?:about|on) (?:ethics|morality|legality|safety)|warnings? (?:or|and|,) (?:disclaimers?|caveats?|notes?|reminders?))\b`},
			{lang: "en", need: []string{"ai", "language", "illegal", "unethical", "immoral", "harmful", "dangerous", "inappropriate", "against", "ethics", "morality", "legality", "consequences", "dangers"}, words: []string{"do", "don", "never", "without"},
				re: `\b(?:do not|don't|never|without) (?:mention(?:ing)?|say(?:ing)?|remind(?:ing)? (?:me|us|the user)|state|stating|tell(?:ing)? me) (?:that )?(?:(?:you(?:'re| are) (?:an ai|just an ai|a language model|an ai language model|not able))|(?:it|this|that)(?:'s| is) (?:illegal|unethical|immoral|harmful|dangerous|inappropriate|against)|(?:about |of )?(?:the )?(?:ethics|morality|legality|consequences|dangers))`},
			{lang: "de", words: []string{"ohne", "keine", "keinerlei"},
				re: `\b(?:ohne|keine|keinerlei) (?:jegliche |jeglichen |irgendwelche |irgendwelchen )?(?:warnungen (?:oder|und|,) (?:haftungsausschlüsse|haftungsausschlusse|hinweise)|haftungsausschlüsse|haftungsausschlusse|haftungsausschluss|disclaimer|moralpredigten|moralisierende)`},
			{lang: "fr", need: []string{"avertissement", "clause", "avis", "disclaimer", "leçon", "lecon", "moralisation"}, words: []string{"sans", "aucun", "aucune", "pas", "ne"},
				re: `\b(?:sans|aucun|aucune|pas de|ne mets? pas de) (?:aucun |aucune |la moindre )?(?:avertissements? (?:ni|ou|et|,) (?:mises? en garde|clauses?|avis)|clauses? de non-responsabilité|clauses? de non-responsabilite|avis de non-responsabilité|avis de non-responsabilite|disclaimers?|leçons? de morale|lecons? de morale|moralisation)`},
			{lang: "es", need: []string{"advertencia", "descargo", "exencion", "exención", "disclaimer", "sermon", "moralina"}, words: []string{"sin", "ningún", "ningun", "ninguna", "no"},
				re: `\b(?:sin|ningún|ningun|ninguna|no incluyas|no agregues|no añadas|no anadas) (?:ningún |ningun |ninguna |ninguno |ningunas |ningunos )?(?:advertencias? (?:ni|o|y|,) (?:descargos?|avisos?|aclaraciones)|descargos? de responsabilidad|exenciones? de responsabilidad|disclaimers?|sermones|moralinas?)`},
			{lang: "pt", need: []string{"aviso", "advert", "isenç", "isenc", "disclaimer", "sermõ", "sermo"}, words: []string{"sem", "nenhum", "nenhuma", "não", "nao"},
				re: `\b(?:sem|nenhum|nenhuma|não inclua|nao inclua|não adicione|nao adicione) (?:nenhum |nenhuma |qualquer )?(?:avisos? (?:ou|e|nem|,) (?:isenções|isencoes|ressalvas)|advertências? (?:ou|e|nem|,) (?:isenções|isencoes|ressalvas)|isenções de responsabilidade|isencoes de responsabilidade|isenção de responsabilidade|isencao de responsabilidade|disclaimers?|sermões|sermoes)`},
			{lang: "it", need: []string{"avvertiment", "avvertenz", "esclusion", "disclaimer", "prediche", "moralismi"}, words: []string{"senza", "nessun", "non"},
				re: `\b(?:senza|nessun|nessuna|non includere|non aggiungere) (?:alcun |alcuna |nessun |nessuna )?(?:avvertiment[oi] (?:o|e|né|ne|,) (?:esclusioni|disclaimer|avvertenze)|avvertenze (?:o|e|né|ne|,) (?:esclusioni|disclaimer)|esclusion[ei] di responsabilità|esclusion[ei] di responsabilita|disclaimer|prediche|moralismi)`},
			{lang: "zh", lits: []string{"免责声明", "免責聲明", "警告", "道德说教", "道德說教"}, free: true,
				re: `(?:不要|不要添加|不要包含|不得|不能|不要给出|不要給出|不带|不帶|没有|沒有|无需|無需|省略|去掉)(?:任何)?(?:警告(?:或|和|、|及)?(?:免责声明|免責聲明|提示)|免责声明|免責聲明|道德说教|道德說教)`},
			{lang: "ja", lits: []string{"免責事項", "注意書き", "警告", "説教"},
				re: `(?:免責事項|注意書き|警告|説教|倫理的な注意)(?:や[^。\n]{0,10})?(?:を|は|も)?(?:一切|決して)?(?:付けないで|つけないで|含めないで|入れないで|書かないで|なしで|無しで|不要|省略)`},
			{lang: "ru", need: []string{"предупрежден", "оговор", "дисклеймер", "отказ", "нравоучен", "морализатор"}, words: []string{"без", "никаких", "не"},
				re: `(?:без|никаких|не добавляй) (?:каких-либо |каких-нибудь |всяких |любых )?(?:предупреждений (?:и|или|,) (?:оговорок|дисклеймеров)|оговорок|дисклеймеров|отказов от ответственности|нравоучений|морализаторства)`},
		},
	},
	{
		name: "no_apology", fam: "refusal_suppression", score: 0.45,
		desc: "\"Do not apologize\" addressed to the model: a weak cue of refusal suppression; alone it does not block.",
		pats: []pattern{
			{lang: "en", need: []string{"apolog", "sorry"}, words: []string{"do", "don", "never", "without", "stop", "no"},
				re: `\b(?:do not|don't|never|without|stop|no) (?:ever )?(?:apologi[sz](?:e|ing)|apologies|say(?:ing)? (?:that )?(?:you(?:'re| are) )?sorry)\b`},
			{lang: "de", need: []string{"entschuldig"}, words: []string{"entschuldig", "ohne"},
				re: `\bentschuldige? dich (?:nicht|niemals|nie)\b|\bohne (?:dich )?zu entschuldigen`},
			{lang: "fr", need: []string{"excuse", "excusez"}, words: []string{"ne"},
				re: `\bne (?:t'excuse|vous excusez) (?:pas|jamais)\b`},
			{lang: "es", need: []string{"disculp"}, words: []string{"no"},
				re: `\bno (?:te disculpes|pidas disculpas|se disculpe)\b`},
			{lang: "pt", need: []string{"desculp"}, words: []string{"não", "nao"},
				re: `\bnão (?:se desculpe|peça desculpas|te desculpes)\b|\bnao (?:se desculpe|peca desculpas)\b`},
			{lang: "it", need: []string{"scus"}, words: []string{"non"},
				re: `\bnon (?:scusarti|chiedere scusa)\b`},
			{lang: "zh", lits: []string{"道歉", "抱歉"}, free: true,
				re: `(?:不要|不必|不用|别|別|不得)(?:再)?(?:道歉|说抱歉|說抱歉)`},
			{lang: "ja", lits: []string{"謝ら", "謝罪"},
				re: `(?:謝らないで|謝罪しないで|謝罪は不要)`},
			{lang: "ru", need: []string{"извиня"}, words: []string{"не"},
				re: `не извиняй(?:ся|тесь)`},
		},
	},
	{
		name: "regardless_of_ethics", fam: "refusal_suppression", score: 0.6,
		desc: "Demands an answer regardless of legality, ethics or harm.",
		pats: []pattern{
			{lang: "en", need: []string{"illegal", "unethical", "immoral", "harmful", "dangerous", "inappropriate", "offensive", "explicit", "legality", "ethics", "morality", "legal", "ethical", "moral"}, words: []string{"regardless", "irrespective", "answer", "respond", "reply", "comply", "do", "provide", "help", "generate", "write", "obey"},
				re: `\b(?:regardless|irrespective) of (?:how |whether (?:it(?:'s| is) )?)?(?:the )?(?:legality|ethics|morality|illegal|unethical|immoral|harmful|dangerous|offensive|inappropriate|legal|ethical|moral)\b|\b(?:answer|respond|reply|comply|do it|provide|help|generate|write|obey)\b[^.\n]{0,30}\b(?:even if|no matter (?:if|whether|how)) (?:it(?:'s| is)|they(?:'re| are)|the (?:request|question|content|topic|prompt) (?:is|seems))(?: \w+)? (?:illegal|unethical|immoral|harmful|dangerous|inappropriate|offensive|explicit)\b`},
			{lang: "de", need: []string{"illegal", "unethisch", "unmoralisch", "schädlich", "schadlich", "gefährlich", "gefahrlich"}, words: []string{"egal", "unabhängig", "unabhangig", "auch"},
				re: `(?:egal|unabhängig davon|unabhangig davon|auch wenn),? (?:ob |wie )?(?:es |sie |die anfrage )?(?:illegal|unethisch|unmoralisch|schädlich|schadlich|gefährlich|gefahrlich)`},
			{lang: "fr", words: []string{"même", "meme", "peu", "quelle"},
				re: `(?:même si|meme si|peu importe si|peu importe que|quel que soit) (?:c'est |cela est |la demande est )?(?:illégal|illegal|contraire à l'éthique|immoral|dangereux|nuisible)`},
			{lang: "es", need: []string{"ilegal", "ético", "etico", "inmoral", "peligroso", "dañino", "danino"}, words: []string{"aunque", "no", "independientemente", "sin"},
				re: `(?:aunque sea|no importa si es|independientemente de si es|sin importar si es) (?:ilegal|poco ético|poco etico|inmoral|peligroso|dañino|danino)`},
			{lang: "pt", need: []string{"ilegal", "antiético", "antietico", "imoral", "perigoso", "prejudicial"}, words: []string{"mesmo", "não", "nao", "independentemente"},
				re: `(?:mesmo que seja|não importa se é|nao importa se e|independentemente de ser) (?:ilegal|antiético|antietico|imoral|perigoso|prejudicial)`},
			{lang: "it", need: []string{"illegale", "etico", "immorale", "pericoloso", "dannoso"}, words: []string{"anche", "non", "indipendentemente"},
				re: `(?:anche se è|anche se e|non importa se è|non importa se e|indipendentemente dal fatto che sia) (?:illegale|non etico|immorale|pericoloso|dannoso)`},
			{lang: "zh", lits: []string{"不管", "无论", "無論", "即使"},
				re: `(?:不管|无论|無論|即使)[^。\n]{0,8}(?:是否)?(?:违法|違法|不道德|非法|有害|危险|危險)[^。\n]{0,12}(?:都|也)(?:要|必须|必須|得)?(?:回答|回复|回覆|提供|照做|执行|執行)`},
			{lang: "ja", lits: []string{"違法", "非倫理", "倫理に反", "有害", "危険"},
				re: `(?:違法|非倫理的|倫理に反|有害|危険)(?:な内容)?(?:であって|でも|だとしても|であろうと)[^。\n]{0,12}(?:答え|回答|応じ|従)`},
			{lang: "ru", words: []string{"даже", "независимо", "неважно"},
				re: `(?:даже если (?:это )?|независимо от того,? (?:является ли это )?|неважно,? (?:ли )?)(?:незаконн|неэтичн|аморальн|опасн|вредн)\p{L}*`},
		},
	},
}

var prefixRules = []rule{
	{
		name: "affirmative_prefix", fam: "prefix_injection", score: 0.75,
		desc: "Forces the answer to start with an affirmative phrase (\"start your response with 'Sure, here is'\").",
		pats: []pattern{
			{lang: "en", need: []string{"sure", "certainly", "absolutely", "course", "here", "yes", "okay", "ok"}, words: []string{"start", "begin", "preface", "prefix", "respond", "reply", "answer"},
				re: `\b(?:start|begin|preface|prefix)(?:s|ing)? (?:each |every |all )?(?:of )?(?:your |the )?(?:response|reply|answer|output|message|sentence|text)s? (?:with|by saying|by writing|using) (?:the (?:words?|phrase|sentence|text) )?["'“‘«]? ?(?:sure|certainly|absolutely|of course|here is|here's|here are|yes|okay|ok|i will|i'll|i can)\b|\b(?:respond|reply|answer) (?:only )?(?:with|by saying) ["'“‘«](?:sure,? here|certainly,? here|absolutely,? here|of course,? here)`},
			{lang: "de", need: []string{"antwort", "ausgabe"}, words: []string{"beginn", "starte", "fange", "fang"},
				re: `(?:beginne|beginnen sie|starte|fange|fang) (?:deine|ihre|jede) (?:antwort|ausgabe)\p{L}* mit ["'„“«]? ?(?:sicher|klar|natürlich|naturlich|hier ist|gerne|ja)`},
			{lang: "fr", words: []string{"commence", "débute", "debute"},
				re: `(?:commence|commencez|débute|debute|débutez|debutez) (?:ta|votre|chaque) (?:réponse|reponse) (?:par|avec) ["'“«]? ?(?:bien sûr|bien sur|certainement|voici|oui|d'accord|absolument)`},
			{lang: "es", words: []string{"comienza", "empieza", "inicia", "comience", "empiece"},
				re: `(?:comienza|empieza|inicia|comience|empiece) (?:tu|su|cada) respuesta (?:con|diciendo) ["'“«]? ?(?:claro|por supuesto|aquí está|aqui esta|aquí tienes|aqui tienes|sí|si|seguro|desde luego)`},
			{lang: "pt", words: []string{"comece", "inicie", "começa", "comeca"},
				re: `(?:comece|inicie|começa|comeca) (?:sua|a sua|tua|cada) resposta (?:com|dizendo) ["'“«]? ?(?:claro|com certeza|aqui está|aqui esta|sim|certamente)`},
			{lang: "it", words: []string{"inizia", "comincia", "cominci", "inizi"},
				re: `(?:inizia|comincia|cominci|inizi) (?:la tua|ogni|la sua) risposta (?:con|dicendo) ["'“«]? ?(?:certo|sicuro|ecco|sì|si|certamente|va bene)`},
			{lang: "zh", lits: []string{"开头", "開頭", "开始", "開始"}, free: true,
				re: `(?:以|用)[“"「『]?(?:当然|當然|好的|没问题|沒問題|是的|可以|这是|這是)[^。\n]{0,12}(?:开头|開頭|开始|開始)|(?:回答|回复|回覆)(?:必须|必須|要)?(?:以|用)[“"「『]?(?:当然|當然|好的|没问题|沒問題)`},
			{lang: "ja", lits: []string{"始め", "はじめ"}, free: true,
				re: `[「『"](?:もちろん|はい|承知しました|喜んで|わかりました)[^」』"\n]{0,20}[」』"](?:と|で)(?:いう言葉で)?(?:回答|返答|応答|答え)?(?:を)?(?:始め|はじめ)`},
			{lang: "ru", words: []string{"начни", "начинай", "начните"},
				re: `(?:начни|начинай|начните) (?:свой |каждый |ваш )?ответ (?:с|со) (?:фразы |слов )?["«“]? ?(?:конечно|разумеется|вот|да|хорошо|без проблем)`},
		},
	},
	{
		name: "forced_prefix", fam: "prefix_injection", score: 0.45,
		desc: "Dictates the exact words the answer must begin with: a weak cue; alone it does not block.",
		pats: []pattern{
			{lang: "en", need: []string{"response", "reply", "answer", "output"}, words: []string{"start", "begin", "preface", "prefix"},
				re: `\b(?:start|begin|preface|prefix)(?:s|ing)? (?:each |every |all )?(?:of )?(?:your |the )?(?:response|reply|answer|output)s? (?:with|by saying|by writing) (?:the (?:words?|phrase|sentence|text) )?["'“‘«]`},
		},
	},
}

var payloadRules = []rule{
	{
		name: "combine_and_follow", fam: "payload_splitting", score: 0.75,
		desc: "Splits an instruction into parts and asks the model to combine them and follow or answer the result.",
		pats: []pattern{
			{lang: "en", need: []string{"follow", "execute", "answer", "respond", "obey", "carry", "act", "perform", "complete", "run", "do"}, words: []string{"combin", "concatenat", "join", "merg", "put", "append", "assembl"},
				re: `\b(?:combine|concatenate|join|merge|put together|append|assemble)(?: together)? (?:the |these |those |all |both )?(?:strings?|parts?|variables?|pieces?|fragments?|segments?|words|letters|tokens|halves|[a-z] ?(?:\+|and|with) ?[a-z]|them)\b[^.\n]{0,60}?\b(?:and|then|,)(?: \w+){0,2} (?:follow|execute|answer|respond to|obey|carry out|act on|perform|complete|do what (?:it|they) says?|run)\b`},
			{lang: "en", words: []string{"follow", "execute", "answer", "respond", "obey", "carry", "act", "perform", "complete"},
				re: `\b(?:follow|execute|answer|respond to|obey|carry out|act on|perform|complete) (?:the )?(?:resulting|combined|concatenated|joined|merged|final|assembled|reassembled) (?:string|instruction|prompt|text|request|question|sentence|command|message|query)\b`},
			{lang: "en", words: []string{"answer", "respond", "follow", "execute", "write", "complete", "print", "output"},
				re: `\b(?:answer|respond to|follow|execute|write|complete|print|output)(?: the)? (?:[a-z]|str\d?|s\d|x\d?)(?: ?\+ ?(?:[a-z]|str\d?|s\d|x\d?)){1,6}\b`},
		},
	},
}

var roleTagRules = []rule{
	{
		name: "chatml", fam: "role_tag", score: 0.9,
		desc: "ChatML or Llama-3 special tokens that open a system or assistant turn (<|im_start|>system, <|start_header_id|>).",
		pats: []pattern{
			{lang: "any", lits: []string{"<|im_start|>", "<|im_end|>", "<|start_header_id|>", "<|eot_id|>", "<|system|>", "<|assistant|>", "<|user|>", "<|end|>"},
				re: `<\|(?:im_start|im_end|start_header_id|end_header_id|eot_id|system|assistant|user|end)\|>`},
		},
	},
	{
		name: "llama_inst", fam: "role_tag", score: 0.8,
		desc: "Llama-2 / Mistral instruction markup ([INST], <<SYS>>) inside user content.",
		pats: []pattern{
			{lang: "any", lits: []string{"[inst]", "[/inst]", "<<sys>>", "<</sys>>"},
				re: `\[/?inst\]|<</?sys>>`},
		},
	},
	{
		name: "instruction_header", fam: "role_tag", score: 0.65,
		desc: "Alpaca-style headers (### Instruction:, ### System:, ### Response:) that fake a new prompt section.",
		pats: []pattern{
			{lang: "any", lits: []string{"###"},
				re: `#{2,4} ?(?:new |updated |system )?(?:instruction|instructions|system|system prompt|response|assistant|human|user) ?:`},
		},
	},
	{
		name: "fake_turn", fam: "role_tag", score: 0.65,
		desc: "Fake conversation turns at line starts: a \"system:\" line that gives instructions, or an \"assistant:\" line that starts complying.",
		pats: []pattern{
			{lang: "en", need: []string{"you", "ignore", "disregard", "forget", "new", "override", "from", "the", "developer", "all", "safety", "content", "admin", "authorized", "important", "urgent", "sure", "certainly", "course", "absolutely", "okay", "ok", "yes"}, words: []string{"system", "assistant", "chatgpt", "gpt", "ai", "model", "bot"}, lineStart: true,
				re: `(?:system|\[system\]|system message|system prompt)(?: \([^)\n]{0,20}\))? ?: ?(?:you are now|you are no longer|you must|ignore|disregard|forget|new instructions|override|from now on|the (?:user|assistant|ai) (?:is|has|must|may)|developer mode|all (?:restrictions|filters|safety)|safety (?:filters|protocols|guidelines)|content (?:filter|policy)|admin|authorized|you will now|(?:this is )?(?:really |extremely |very )?(?:important|urgent)[:,.!])|(?:assistant|chatgpt|gpt|ai|model|bot) ?: ?(?:sure|certainly|of course|absolutely|okay|ok|yes)[,!.]? ?(?:here(?:'s| is| are)|i (?:will|can|'ll)|i am happy to|let me)`},
			{lang: "any", lits: []string{"[system]"},
				re: `\[system\]\(#(?:instructions|context|additional_instructions|assistant|message)\)|(?:\[system\] ?){3,}`},
			{lang: "any", lits: []string{"<end of", "[admin", "[system", "[developer", "[root"},
				re: `(?:<end of (?:session|conversation|document|input|context|prompt)> ?){2,}|\[(?:admin|system|developer|root)(?: (?:request|override|message|instruction|command|note|mode))?s? ?::?`},
		},
	},
	{
		name: "system_tag", fam: "role_tag", score: 0.7,
		desc: "Closing or opening system/instructions tags (</system>, <system>, </instructions>) followed by new instructions.",
		pats: []pattern{
			{lang: "any", lits: []string{"<system", "</system", "</instructions>", "<instructions>", "</user", "</context>", "</document>", "</data>", "<admin", "</admin"},
				re: `</?(?:system|system_prompt|system_message|instructions|admin|admin_instructions)>\s?(?:<[a-z_]+>\s?)?(?:you are now|ignore|disregard|forget|new instructions|override|from now on|you must|the (?:assistant|ai|model) (?:must|should|will)|developer mode|all (?:previous|prior) )|</(?:user|user_input|context|document|data)>\s?<(?:system|system_prompt|instructions|admin)>`},
		},
	},
}

var indirectRules = []rule{
	{
		name: "note_to_ai", fam: "indirect", score: 0.75,
		desc: "Text inside data that addresses an AI reader (\"note to the AI:\", \"AI assistant: ignore ...\").",
		pats: []pattern{
			{lang: "en", need: []string{"ai", "llm", "llms", "assistant", "language", "chatbot", "gpt", "chatgpt", "automated", "agent", "bot", "model", "summariz", "summaris"}, words: []string{"note", "message", "instruction", "instructions", "attention", "important", "notice", "reminder", "memo", "directive"},
				re: `\b(?:note|message|instructions?|attention|important|notice|reminder|memo|directive|important message)(?: \w+)? (?:to|for) (?:the |any |all |an? )?(?:ai|a\.i\.|llm|llms|assistant|language model|large language model|chatbot|gpt|chatgpt|ai model|ai assistant|automated system|ai system|ai agent|agent|bot|model|ai reader|ai reviewer|summari[sz]er)s?\b ?(?::|,|-|—|reading)`},
			{lang: "en", need: []string{"ignore", "disregard", "forget", "follow", "following", "new", "override", "instead", "must", "task"}, words: []string{"ai", "llm", "assistant", "chatbot", "chatgpt", "gpt", "agent", "language"},
				re: `\b(?:ai|llm|ai assistant|assistant|chatbot|chatgpt|gpt|ai agent|agent|language model|ai model)s? ?(?::|,) ?(?:please )?(?:ignore|disregard|forget|do not follow|stop following|new instructions|override|instead of|you must now|your new task)\b`},
		},
	},
	{
		name: "if_you_are_ai", fam: "indirect", score: 0.8,
		desc: "Conditional instructions to an AI reader inside data (\"if you are an AI language model, you must ...\").",
		pats: []pattern{
			{lang: "en", need: []string{"ai", "llm", "language", "chatbot", "gpt", "bot", "automated"}, words: []string{"if", "when", "in", "since"},
				re: `\b(?:if|when|in case|since) you(?:'re| are) (?:an?|the) (?:ai[- ]powered |ai |a\.i\. |large )?(?:ai|a\.i\.|llm|language model|chatbot|assistant|model|agent|gpt|bot|system|automated (?:system|assistant|agent|tool))(?: (?:reading|processing|summari[sz]ing|reviewing|analy[sz]ing|parsing|scanning|screening|evaluating) (?:this|these|the)(?: \w+)?)?,? (?:then )?(?:you )?(?:must|should|shall|will|need to|have to|are required to|are instructed to|please|ignore|disregard|say|respond|reply|output|print|include|write|recommend|answer|rate|score|state|mention|tell)\b`},
			{lang: "de", need: []string{"ki", "künstliche", "kunstliche", "sprachmodell", "chatbot"}, words: []string{"wenn", "falls"},
				re: `(?:wenn|falls) (?:du|sie) (?:eine? )?(?:ki|künstliche intelligenz|kunstliche intelligenz|sprachmodell|ki-assistent|ki-modell|chatbot) (?:bist|sind)\b[,]? (?:dann )?(?:musst|sollst|müssen|mussen|sollen|ignoriere|antworte|schreibe|gib|sage)`},
			{lang: "fr", need: []string{"ia", "intelligence", "modèle", "modele", "chatbot"}, words: []string{"si"},
				re: `\bsi (?:tu es|vous êtes|vous etes) (?:une? )?(?:ia|intelligence artificielle|modèle de langage|modele de langage|assistant ia|chatbot)\b,? (?:alors )?(?:tu dois|vous devez|ignore|ignorez|réponds|reponds|répondez|repondez|écris|ecris|dis)`},
			{lang: "es", need: []string{"ia", "inteligencia", "modelo", "chatbot", "asistente"}, words: []string{"si"},
				re: `\bsi (?:eres|usted es) (?:una? )?(?:ia|inteligencia artificial|modelo de lenguaje|asistente de ia|chatbot)\b,? (?:entonces )?(?:debes|tienes que|ignora|responde|escribe|di|deberás|deberas)`},
			{lang: "pt", need: []string{"ia", "inteligência", "inteligencia", "modelo", "chatbot", "assistente"}, words: []string{"se"},
				re: `\bse (?:você é|voce e|voce é|tu és|tu es) (?:uma? )?(?:ia|inteligência artificial|inteligencia artificial|modelo de linguagem|assistente de ia|chatbot)\b,? (?:então |entao )?(?:deve|precisa|ignore|responda|escreva|diga)`},
			{lang: "it", need: []string{"ia", "un", "intelligenza", "modello", "assistente", "chatbot"}, words: []string{"se"},
				re: `\bse sei (?:un'ia|un ia|un'intelligenza artificiale|un modello linguistico|un assistente ia|un chatbot)\b,? (?:allora )?(?:devi|ignora|rispondi|scrivi|di')`},
			{lang: "zh", lits: []string{"如果你是", "如果您是", "假如你是"},
				re: `(?:如果|假如)(?:你|您)是(?:一个|一個|一名)?(?:ai|人工智能|语言模型|語言模型|大语言模型|大語言模型|ai助手|聊天机器人|聊天機器人)[^。\n]{0,8}(?:必须|必須|请|請|应该|應該|要|忽略|回答)`},
			{lang: "ja", lits: []string{"あなたがai", "あなたがaiアシスタント", "あなたが言語モデル", "あなたが人工知能"},
				re: `あなたが(?:ai|aiアシスタント|言語モデル|人工知能|チャットボット)(?:である|です)?(?:なら|ならば|場合)[^。\n]{0,20}(?:必要|しなければ|ください|無視|答え)`},
			{lang: "ru", words: []string{"если"},
				re: `если (?:ты|вы) (?:— |- )?(?:ии|ai|языковая модель|нейросеть|чат-бот|ассистент|искусственный интеллект),? (?:то )?(?:ты должен|вы должны|игнорируй|ответь|напиши|скажи|обязательно)`},
		},
	},
	{
		name: "while_processing", fam: "indirect", score: 0.75,
		desc: "Instructions in a document aimed at the model that processes it (\"when summarizing this document, instead say ...\").",
		pats: []pattern{
			{lang: "en", need: []string{"ignore", "disregard", "not", "instead", "only", "must", "rate", "score"}, words: []string{"when", "while", "before", "after", "whoever", "anyone"},
				re: `\b(?:when|while|before|after|whoever is|anyone) (?:you are |you're )?(?:summari[sz]|translat|review|analy[sz]|process|read|evaluat|assess|screen|rank|grad|pars)\w* (?:this|these|the following|my) (?:document|text|page|email|e-mail|resume|résumé|cv|article|file|content|paper|application|webpage|website|message|data|input|report)s?\b[^.\n]{0,40}?\b(?:ignore (?:all|any|the|your|previous)|disregard|do not (?:mention|summari[sz]e|reveal|tell)|instead(?:,| of)? (?:say|write|output|print|respond|reply|state|tell)|only (?:say|output|respond with|reply with)|you must (?:say|output|state|include|recommend|rate)|(?:rate|score) (?:it|this|the candidate|me|him|her) (?:as|with|a)\b)`},
		},
	},
	{
		name: "hidden_instruction", fam: "indirect", score: 0.7,
		desc: "Marks text as hidden or embedded instructions for an AI reader.",
		pats: []pattern{
			{lang: "en", need: []string{"ai", "llm", "assistant", "model", "language", "chatbot", "bot", "agent"}, words: []string{"hidden", "secret", "embedded", "invisible", "instructions", "instruction"},
				re: `\b(?:hidden|secret|embedded|invisible) (?:instructions?|prompt|command|directive)s? (?:for|to) (?:the |any )?(?:ai|llm|assistant|model|language model|chatbot|bot|agent)\b|\binstructions? for (?:the |any )?(?:ai|llm|assistant|language model|chatbot|ai model|ai agent) (?:reading|processing|summari[sz]ing|reviewing) this\b`},
		},
	},
}

var encodedRules = []rule{
	{
		name: "decode_and_follow", fam: "encoded", score: 0.8,
		desc: "Asks the model to decode base64/rot13/hex/... text and then follow, execute or answer it.",
		pats: []pattern{
			{lang: "en", words: []string{"decod", "deciph", "decrypt", "translat", "convert", "interpret", "unscrambl", "revers"},
				re: `\b(?:decode|decipher|decrypt|translate|convert|interpret|unscramble|reverse)(?: the| this| following| these)?(?: \w+){0,3} (?:base ?64|base-64|b64|base ?32|base ?16|rot-?13|rot ?47|hex|hexadecimal|binary|morse(?: code)?|ascii ?85|base ?85|caesar(?: cipher)?|atbash|leet(?:speak)?|url-?encoded|uuencoded?|cipher|encoded|encrypted|reversed)\b[^\n]{0,80}?\b(?:and|then|,)(?: \w+){0,2} (?:follow|execute|obey|perform|carry out|act on|respond to|comply with|run|do (?:what|as) it says|do exactly|do (?:it|that|as instructed|as (?:it|the text|the message) (?:says|instructs))|answer(?: it| the question| the request)?|reply to|fulfil+|treat it as)\b`},
			{lang: "en", words: []string{"follow", "execute", "obey", "perform", "carry", "act", "respond", "comply", "run"},
				re: `\b(?:follow|execute|obey|perform|carry out|act on|respond to|comply with|run|answer) (?:the )?(?:decoded|hidden|encoded|encrypted|deciphered|base64|rot13|hex)(?: \w+)? (?:instructions?|message|text|commands?|prompt|payload|request|question|task)\b`},
			{lang: "en", words: []string{"decod"},
				re: `\bdecode (?:the following|this)(?: \w+){0,2} (?:in your (?:monologue|head|mind)|silently|without (?:showing|printing|revealing))\b`},
			{lang: "de", words: []string{"dekodier", "entschlüssel", "entschlussel", "übersetz", "ubersetz"},
				re: `(?:dekodier|entschlüssel|entschlussel|übersetz|ubersetz)\p{L}* (?:\p{L}+ ){0,3}(?:base64|rot13|hex|binär|binar|morse)\p{L}*[^\n]{0,80}(?:und|dann) (?:\p{L}+ ){0,2}(?:befolge|führe|fuhre|folge|ausführen|ausfuhren|befolgen)`},
			{lang: "fr", words: []string{"décod", "decod", "déchiffr", "dechiffr"},
				re: `(?:décode|decode|décodez|decodez|déchiffre|dechiffre|déchiffrez|dechiffrez) (?:\p{L}+ ){0,3}(?:base64|rot13|hex|hexadécimal|hexadecimal|binaire|morse)[^\n]{0,80}(?:et|puis) (?:\p{L}+ ){0,2}(?:suis|suivez|exécute|execute|exécutez|executez|obéis|obeis|applique)`},
			{lang: "es", words: []string{"decodific", "descodific", "descifr"},
				re: `(?:decodifica|decodifique|descodifica|descifra|descifre) (?:\p{L}+ ){0,3}(?:base64|rot13|hex|hexadecimal|binario|morse)[^\n]{0,80}(?:y|luego) (?:\p{L}+ ){0,2}(?:sigue|siga|ejecuta|ejecute|obedece|cumple)`},
			{lang: "pt", words: []string{"decodifiq", "decifr"},
				re: `(?:decodifique|decodifica|decifre|decifra) (?:\p{L}+ ){0,3}(?:base64|rot13|hex|hexadecimal|binário|binario|morse)[^\n]{0,80}(?:e|depois) (?:\p{L}+ ){0,2}(?:siga|execute|obedeça|obedeca|cumpra)`},
			{lang: "it", words: []string{"decodific", "decifr"},
				re: `(?:decodifica|decodifichi|decifra|decifri) (?:\p{L}+ ){0,3}(?:base64|rot13|hex|esadecimale|binario|morse)[^\n]{0,80}(?:e|poi) (?:\p{L}+ ){0,2}(?:segui|esegui|obbedisci|rispetta)`},
			{lang: "zh", lits: []string{"解码", "解碼", "解密"},
				re: `(?:解码|解碼|解密)[^。\n]{0,20}(?:base64|rot13|hex|十六进制|十六進制|二进制|二進制|摩斯)?[^。\n]{0,20}(?:并|並|然后|然後)(?:按照|照着|照著|遵循|执行|執行|遵守)`},
			{lang: "ja", lits: []string{"デコード", "復号"},
				re: `(?:デコード|復号)(?:して|し)[^。\n]{0,20}(?:従って|実行して|指示に従|その通りに)`},
			{lang: "ru", words: []string{"декодир", "расшифр"},
				re: `(?:декодируй|расшифруй|декодируйте|расшифруйте) (?:\p{L}+ ){0,3}[^\n]{0,80}(?:и|затем) (?:\p{L}+ ){0,2}(?:выполни|следуй|выполните|следуйте)`},
		},
	},
	{
		name: "encoded_output", fam: "encoded", score: 0.6,
		desc: "Asks for the answer only in an encoding (base64, rot13, hex, ...) to get past output filters.",
		pats: []pattern{
			{lang: "en", need: []string{"base", "base64", "rot", "rot13", "hex", "hexadecimal", "binary", "morse", "leetspeak", "caesar", "ascii", "unicode", "cipher", "encod"}, words: []string{"respond", "reply", "answer", "write", "output", "communicate", "talk", "give", "base", "rot", "hex", "encod", "cipher"},
				re: `\b(?:respond|reply|answer|write|output|communicate|talk|give (?:me )?(?:your|the) (?:answer|response|output))(?: \w+){0,2} (?:only|exclusively|solely|entirely) (?:in|using|with) (?:base ?64|base-64|rot-?13|hex|hexadecimal|binary|morse code|leetspeak|caesar cipher|ascii codes|unicode escapes)\b|\b(?:base ?64|rot-?13|hex|encode[sd]?|encoding|cipher)\b[^.\n]{0,60}\bto (?:avoid|evade|bypass|get (?:past|around)|circumvent|fool|trick) (?:the |any |your )?(?:content |safety |output )?(?:filters?|detection|moderation|censorship|monitoring|safety (?:systems?|checks?)|content polic(?:y|ies))\b`},
		},
	},
}

// catalog is every rule, in documentation order. Rule IDs are stable: never
// rename one, add a new rule instead.
var catalog = concat(overrideRules, socialOverrideRules, personaRules, extractionRules, secretRequestRules, refusalRules, prefixRules, payloadRules, roleTagRules, socialRoleTagRules, indirectRules, taskWrappedRules, encodedRules, socialEncodedRules, framingRules, dataRules)

func concat(groups ...[]rule) []rule {
	var out []rule
	for _, g := range groups {
		out = append(out, g...)
	}
	return out
}
