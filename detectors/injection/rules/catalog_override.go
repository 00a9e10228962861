package rules

// Shared pieces of English patterns.
const (
	// enPrev: words that point at earlier instructions.
	enPrev = `(?:previous(?:ly)?|prior|above|earlier|preceding|foregoing|former|initial|original|old|past|pre-?existing|existing|system|given|provided|default|programmed|pre-?set|aforementioned|current|openai|developer|safety)`
	// enInstr: nouns for the instructions being overridden.
	enInstr = `(?:instructions?|instruction set|directions?|directives?|prompts?|rules|guidelines|commands?|orders|constraints|programming|guidance|restrictions|policies|training|safeguards|context|conditioning|parameters|guardrails)`
)

var overrideRules = []rule{
	{
		name: "ignore_previous", fam: "override", score: 0.9,
		desc: "Tells the model to ignore, disregard or forget its previous instructions.",
		pats: []pattern{
			{lang: "en", need: []string{"instruction", "direction", "directive", "prompt", "rules", "guideline", "command", "orders", "constraint", "programming", "guidance", "restriction", "polic", "training", "safeguard", "context", "conditioning", "parameter", "guardrail", "filter", "system"}, words: []string{"ignor", "disregard", "forget", "overlook", "overrid", "dismiss", "discard", "neglect", "abandon", "throw"},
				re: `\b(?:ignor(?:e|ing)|disregard(?:ing)?|forget(?:ting)?|overlook|overrid(?:e|ing)|dismiss|discard|neglect|abandon|throw out|throw away) ` +
					`(?:(?:all|any|every|each|the|your|my|these|those|of|both|that|its|our)[ ,]+){0,4}` +
					`(?:` + enPrev + `(?:(?: and| or|,| ?/) ?(?:following|` + enPrev + `))?[ ,]+(?:[a-z'-]+ ){0,2}?` + enInstr +
					`|(?:all|any|every) (?:of )?(?:the |your )?(?:instructions|rules|guidelines|restrictions|directives|constraints) (?:you|that|which|given|above|previously|before|so far|until now|and|i gave)` +
					`|your (?:instructions|programming|guidelines|rules|training|restrictions|filters|content polic(?:y|ies)|safety guidelines|system prompt|directives|guardrails)\b)`},
			{lang: "en", words: []string{"ignor", "disregard", "forget", "overlook"},
				re: `\b(?:ignore|disregard|forget|overlook) (?:about )?(?:everything|all|anything|whatever)(?: that)? (?:(?:written |said |stated |mentioned )?(?:above|before (?:this|that|now)|previously|prior to this|so far|up to (?:this|now))|you(?: were|'re| are| have been|'ve been| have| had) (?:previously |already )?(?:told|instructed|given|taught|been told|been instructed)|(?:i|we) (?:said|told you|wrote) (?:before|earlier|previously|above))`},
			{lang: "en", words: []string{"ignor", "disregard", "forget"},
				re: `\b(?:ignore|disregard|forget) (?:the |all |everything )?(?:above|previous|preceding|prior)\b[^.\n]{0,30}?\b(?:and|then)(?: instead| just| only| now)? (?:say|state|claim|print|write|output|respond|reply|tell|answer|return|translate|repeat|type|generate|spell|do)\b`},
			{lang: "de", words: []string{"ignorier", "vergiss", "vergessen", "missacht", "übergeh", "ubergeh", "verwirf", "verwerfen", "beachte"},
				re: `(?:ignorier\p{L}*|vergiss|vergessen|missacht\p{L}*|übergeh\p{L}*|ubergeh\p{L}*|verwirf|verwerfen|beachte nicht|beachten sie nicht)(?: sie| du)?(?: einfach| bitte| jetzt| nun)? (?:(?:alle|alles|die|der|den|deine|ihre|jegliche|sämtliche|samtliche|bisher|vorher|zuvor)\p{L}*,? ){0,3}(?:vorherig|vorhergehend|bisherig|vorig|früher|fruher|obig|vorangegangen|vorausgegangen|vorstehend|ursprünglich|ursprunglich|anfänglich|anfanglich|erhalten|gegeben|system|alten)\p{L}* (?:\p{L}+ )?(?:anweisung|instruktion|befehl|regel|anordnung|vorgabe|richtlinie|eingabeaufforderung|prompt|systemanweisung)`},
			{lang: "de", words: []string{"vorherig", "vorhergehend", "bisherig", "vorig", "früher", "fruher", "obig", "vorangegangen", "ursprünglich", "ursprunglich"},
				re: `(?:vorherig|vorhergehend|bisherig|vorig|früher|fruher|obig|vorangegangen|ursprünglich|ursprunglich)\p{L}* (?:anweisung|instruktion|befehl|regel|vorgabe|richtlinie)\p{L}* (?:\p{L}+ ){0,3}(?:ignorieren|vergessen|missachten|nicht (?:mehr )?beachten|nicht (?:mehr )?befolgen|außer acht lassen|ausser acht lassen)`},
			{lang: "de", words: []string{"vergiss", "ignorier"},
				re: `(?:vergiss|ignoriere?) alles,? (?:was (?:dir |man dir |ich dir )?(?:vorher |zuvor |bisher |davor )?(?:gesagt|befohlen|aufgetragen|mitgeteilt)|(?:davor|vorher|zuvor|bisherige|oben|obige))`},
			{lang: "fr", need: []string{"précéd", "preced", "antérieur", "anterieur", "ci-dessus", "avant", "initial", "original", "donné", "donne", "reçu", "recu", "système", "systeme", "passé", "passe", "fourni", "préalable", "prealable", "origine"}, words: []string{"ignor", "oubli", "ne", "fais", "faites", "néglig", "neglig", "passe", "outrepass"},
				re: `(?:ignore[rz]?|ignorant|oublie[rz]?|oubliant|ne tiens pas compte|ne tenez pas compte|ne prends? pas en compte|ne prenez pas en compte|fais abstraction|faites abstraction|néglige[rz]?|neglige[rz]?|passe[rz]? outre|outrepasse[rz]?)(?: de| des| d'| à| a| aux)? ?(?:(?:toutes|tous|tout|les|la|le|tes|vos|ces|l'|mes|nos)\s?){0,3}(?:\p{L}+ )?(?:instructions?|consignes?|directives?|règles|regles|ordres|commandes|indications|prompts?|invites?) (?:\p{L}+ )?(?:précédentes?|precedentes?|antérieures?|anterieures?|ci-dessus|d'avant|initiales?|originales?|données|donnees|reçues|recues|du système|du systeme|système|systeme|passées|passees|fournies|préalables|prealables|d'origine)`},
			{lang: "fr", need: []string{"précède", "precede", "dit", "dessus"}, words: []string{"ignor", "oubli"},
				re: `(?:ignore[rz]?|oublie[rz]?) (?:tout )?(?:ce qui (?:précède|precede|a été dit|a ete dit)|tout ce qu(?:e|'on|i) (?:je t'ai|je vous ai|t'a|vous a|on t'a|on vous a) (?:dit|été dit|ete dit|demandé)|tout ce qui est au-dessus)`},
			{lang: "es", need: []string{"anterior", "previa", "precedent", "arriba", "inicial", "original", "dadas", "recibida", "sistema", "pasada", "antigua", "previamente"}, words: []string{"ignor", "olvid", "omit", "descart", "desatiend", "desestim", "haz", "hagan", "no", "pasa", "pase"},
				re: `(?:ignora|ignore|ignoren|ignorar|ignorando|olvida|olvide|olviden|olvidar|olvidando|omite|omita|omitan|descarta|descarte|desatiende|desestima|haz caso omiso|hagan caso omiso|no hagas caso|no tengas en cuenta|pasa por alto|pase por alto)(?: de| a)? (?:(?:todas|todos|todo|las|los|tus|sus|estas|esas|mis)\s){0,3}(?:\p{L}+ )?(?:instrucciones|instrucción|instruccion|indicaciones|órdenes|ordenes|reglas|directrices|directivas|comandos|pautas|consignas) (?:\p{L}+ )?(?:anteriores|previas|precedentes|de arriba|iniciales|originales|dadas|recibidas|del sistema|pasadas|antiguas|previamente)`},
			{lang: "es", need: []string{"anterior", "arriba", "dije", "dijeron", "dicho"}, words: []string{"ignor", "olvid"},
				re: `(?:ignora|ignore|olvida|olvide) (?:todo )?lo (?:anterior|de arriba|que (?:te )?(?:dije|dijeron|he dicho|han dicho|se te dijo))`},
			{lang: "pt", need: []string{"anterior", "prévia", "previa", "precedent", "acima", "iniciais", "originais", "dadas", "recebida", "sistema", "passada", "antiga"}, words: []string{"ignor", "esqueç", "esquec", "desconsider", "descart", "desprez", "não", "nao"},
				re: `(?:ignore|ignora|ignorar|ignorem|ignorando|esqueça|esqueca|esqueçam|esquecer|esquece|desconsidere|desconsidera|desconsiderar|descarte|descarta|despreze|não leve em conta|nao leve em conta|não considere|nao considere)(?: de)? (?:(?:todas|todos|tudo|as|os|suas|seus|tuas|teus|essas|estas|minhas)\s){0,3}(?:\p{L}+ )?(?:instruções|instrucoes|instrução|instrucao|orientações|orientacoes|regras|ordens|diretrizes|diretivas|comandos|indicações|indicacoes) (?:\p{L}+ )?(?:anteriores|prévias|previas|precedentes|acima|iniciais|originais|dadas|recebidas|do sistema|passadas|antigas)`},
			{lang: "pt", need: []string{"anterior", "acima", "disse", "dito", "disseram"}, words: []string{"ignor", "esqueç", "esquec"},
				re: `(?:ignore|ignora|esqueça|esqueca|esquece) (?:tudo )?(?:o que (?:foi dito|eu disse|te disseram|lhe disseram)(?: antes| anteriormente| acima)?|o (?:anterior|que está acima|que esta acima))`},
			{lang: "it", need: []string{"precedenti", "anteriori", "prima", "sopra", "iniziali", "originali", "ricevute", "date", "fornite", "sistema", "passate", "vecchie"}, words: []string{"ignor", "dimentic", "trascur", "tralasc", "non", "lascia", "scarta"},
				re: `(?:ignora|ignori|ignorate|ignorare|ignorando|dimentica|dimentichi|dimenticate|dimenticare|trascura|trascurate|tralascia|non considerare|non tenere conto|non seguire|lascia perdere|scarta)(?: di| delle| degli| dei)? (?:(?:tutte|tutti|tutto|le|gli|i|tue|sue|queste|quelle|delle)\s){0,3}(?:\p{L}+ )?(?:istruzioni|indicazioni|regole|direttive|ordini|comandi|consegne|disposizioni) (?:\p{L}+ )?(?:precedenti|anteriori|di prima|sopra|iniziali|originali|ricevute|date|fornite|del sistema|di sistema|passate|vecchie|sopraindicate)`},
			{lang: "it", need: []string{"sopra", "precede", "detto"}, words: []string{"ignor", "dimentic"},
				re: `(?:ignora|ignori|dimentica|dimentichi) (?:tutto )?(?:quanto (?:detto )?sopra|ciò che precede|cio che precede|quello che (?:ti )?(?:ho detto|è stato detto|e stato detto|hanno detto))`},
			{lang: "zh", lits: []string{"忽略", "忽视", "忽視", "无视", "無視", "忘记", "忘記", "忘掉", "理会", "理會", "别管", "別管", "抛弃", "拋棄", "丢弃", "丟棄", "遵守", "遵循"},
				re: `(?:忽略|忽视|忽視|无视|無視|忘记|忘記|忘掉|不要理会|不要理會|不理会|不用理会|别管|別管|抛弃|拋棄|丢弃|丟棄|不要遵守|不要遵循|不再遵守|不再遵循|停止遵循)[^。！？!?\n]{0,12}?(?:之前|以前|先前|此前|上面|以上|上述|前面|前述|原来|原來|原有|原始|最初|早先|所有|全部|一切|你的|系统|系統)[^。！？!?\n]{0,10}?(?:指令|指示|说明|說明|规则|規則|命令|提示|设定|設定|约束|約束|限制|要求|规定|規定|准则|準則)`},
			{lang: "ja", lits: []string{"無視", "忘れ", "放棄", "破棄"}, free: true,
				re: `(?:以前|前|上記|先|これまで|今まで|最初|元|以上|前述|上|すべて|全て|全部|あなた|システム|事前)(?:の|で)(?:すべての|全ての|全部の|与えられた|受けた)?(?:指示|命令|指令|ルール|インストラクション|プロンプト|設定|制約|規則|ガイドライン|説明)(?:を|は|に|も)?、?(?:すべて|全て|全部|一切|完全に)?(?:無視|忘れ|放棄|破棄)`},
			{lang: "ru", words: []string{"игнорир", "проигнорир", "забуд", "забыть", "обращай", "отброс", "пренебр", "не"},
				re: `(?:игнорир\p{L}*|проигнорир\p{L}*|забудь\p{L}*|забыть|забудьте|не обращай\p{L}* внимания на|отбрось\p{L}*|отбросить|пренебреги\p{L}*|пренебречь|не следуй\p{L}*|не выполняй\p{L}*|не учитывай\p{L}*)(?: \p{L}+){0,3}? (?:предыдущ|прежн|предшествующ|вышеуказанн|вышеприведенн|вышеприведённ|вышесказанн|ранее|изначальн|исходн|первоначальн|стар|системн|полученн|все|всё|свои|твои|ваши)\p{L}*(?: \p{L}+)? (?:инструкци|указани|команд|правил|директив|распоряжени|установк|ограничени|промпт|подсказк)`},
			{lang: "ru", words: []string{"забуд", "игнорир", "проигнорир"},
				re: `(?:забудь\p{L}*|игнорир\p{L}*|проигнорир\p{L}*) (?:всё|все),? (?:что (?:тебе |вам )?(?:говорили|сказали|было сказано|я говорил|написано)|(?:выше|ранее|до этого|сказанное))`},
		},
	},
	{
		name: "ignore_document", fam: "override", score: 0.85,
		desc: "Tells the model to ignore the rest of the document, data or task it is processing and do something else.",
		pats: []pattern{
			{lang: "en", words: []string{"ignor", "disregard", "forget"},
				re: `\b(?:ignore|disregard|forget)(?: about)? (?:the )?(?:rest|remainder) of (?:this|the|your|my) (?:document|data|text|email|e-mail|page|file|input|article|prompt|message|conversation|instructions|task|resume|résumé|report|content)` +
					`|\b(?:ignore|disregard) (?:the|this|that|these|those|all (?:the|this|that)) (?:above |below |provided |given |following |previous |original |entire |whole |attached )?` + enDocNoun + `(?: (?:above|below|entirely|completely))?(?: and|,|\.|;|:| -)? (?:(?:and )?(?:instead|just|only|simply|rather|now)[, ]+)?(?:say|state|claim|print|write|output|respond|reply|tell|declare|repeat|type)\b` +
					`|\bdisregard (?:all|any) (?:info|information|content|text|data)\b[^.\n]{0,20}\b(?:except|other than|besides)\b`},
			{lang: "de", words: []string{"ignorier", "vergiss", "missacht", "überspring", "uberspring"},
				re: `(?:ignorier\p{L}*|vergiss|missachte\p{L}*|überspring\p{L}*|uberspring\p{L}*)(?: bitte| einfach)? (?:den|die|das|diese[nrs]?|obige[nrs]?) (?:\p{L}+ )?` + deDocNoun + `(?: oben| unten)?,? (?:und |dann )?(?:stattdessen |nur |einfach )?(?:sag\p{L}*|schreib\p{L}*|antworte\p{L}*|gib (?:an|aus)|gib\p{L}* nur|behaupte\p{L}*|erkläre\p{L}*|erklare\p{L}*|drucke?|nenne?)\b`},
			{lang: "fr", words: []string{"ignor", "oubli", "néglig", "neglig"},
				re: `(?:ignore[rz]?|oublie[rz]?|néglige[rz]?|neglige[rz]?) (?:le|la|les|ce|cette|ces|l') ?(?:\p{L}+ )?(?:données|donnees|document|texte|page|site|fonction|tableau|article|cv|curriculum|contenu|e-mail|courriel|message|fichier|code|rapport|avis|tâche|tache|question)(?: ci-dessus| ci-dessous)?,? (?:et |puis )?(?:plutôt |plutot |simplement |seulement )?(?:dis|dites|écris|ecris|écrivez|ecrivez|réponds|reponds|répondez|repondez|affirme[zr]?|déclare[zr]?|declare[zr]?|affiche[zr]?|indique[zr]?)\b`},
			{lang: "es", words: []string{"ignor", "olvid", "omit"},
				re: `(?:ignora|ignore|ignoren|olvida|olvide|omite|omita) (?:la|el|los|las|esta|este|estos|estas) (?:\p{L}+ )?(?:datos|documento|texto|página|pagina|sitio|función|funcion|tabla|artículo|articulo|currículum|curriculum|cv|contenido|correo|mensaje|archivo|código|codigo|informe|reseña|resena|tarea|pregunta)(?: anterior| de arriba)?,? (?:y |luego )?(?:en su lugar |simplemente |solo |sólo )?(?:di|diga|escribe|escriba|responde|responda|afirma|afirme|declara|declare|indica|indique|imprime|imprima)\b`},
			{lang: "pt", words: []string{"ignor", "esqueç", "esquec", "desconsider"},
				re: `(?:ignore|ignora|ignorem|esqueça|esqueca|esquece|desconsidere|desconsidera) (?:a|o|os|as|esta|este|estes|estas|essa|esse) (?:\p{L}+ )?(?:dados|documento|texto|página|pagina|site|função|funcao|tabela|artigo|currículo|curriculo|cv|conteúdo|conteudo|e-mail|mensagem|arquivo|código|codigo|relatório|relatorio|avaliação|avaliacao|tarefa|pergunta)(?: acima| anterior)?,? (?:e |depois )?(?:em vez disso |simplesmente |apenas |só )?(?:diga|diz|escreva|responda|afirme|declare|indique|imprima)\b`},
			{lang: "it", words: []string{"ignor", "dimentic", "trascur"},
				re: `(?:ignora|ignori|ignorate|dimentica|dimentichi|trascura) (?:la|il|lo|i|gli|le|questa|questo|questi|queste|l') ?(?:\p{L}+ )?(?:dati|documento|testo|pagina|sito|funzione|tabella|articolo|curriculum|cv|contenuto|e-mail|email|messaggio|file|codice|rapporto|recensione|compito|domanda)(?: sopra| precedente)?,? (?:e |poi )?(?:invece |semplicemente |solo )?(?:di'|dì|di|dica|scrivi|scriva|rispondi|risponda|afferma|dichiara|indica|stampa)\b`},
			{lang: "ru", words: []string{"игнорир", "проигнорир", "забуд", "не"},
				re: `(?:игнорируй\p{L}*|проигнорируй\p{L}*|забудь\p{L}*|не обращай\p{L}* внимания на) (?:\p{L}+ )?(?:данны\p{L}*|документ\p{L}*|текст\p{L}*|страниц\p{L}*|сайт\p{L}*|функци\p{L}*|таблиц\p{L}*|стать\p{L}*|резюме|содержим\p{L}*|письм\p{L}*|сообщени\p{L}*|файл\p{L}*|код\p{L}*|отч[её]т\p{L}*|отзыв\p{L}*|задач\p{L}*|вопрос\p{L}*)(?: выше)?,? (?:и |затем )?(?:вместо этого |просто |только )?(?:скажи|напиши|ответь|заяви|укажи|выведи|сообщи)(?:$|[^\p{L}])`},
			{lang: "zh", lits: []string{"忽略", "忽视", "忽視", "无视", "無視", "不要管", "别管", "別管"},
				re: `(?:忽略|忽视|忽視|无视|無視|不要管|别管|別管)(?:这个|這個|该|該|上面的|以上的|上述)?(?:数据|數據|文档|文檔|文件|文本|网页|網頁|函数|函數|表格|文章|简历|簡歷|内容|內容|邮件|郵件|代码|代碼|报告|報告|评论|評論|问题|問題|任务|任務)[,，。]?(?:并且|並且|并|並|然后|然後|而是|直接|只)?(?:说|說|声明|聲明|输出|輸出|回答|写|寫|表示)`},
			{lang: "ja", lits: []string{"データ", "文書", "ドキュメント", "テキスト", "ウェブページ", "関数", "表", "記事", "履歴書", "内容", "メール", "ファイル", "コード", "レポート", "レビュー", "タスク", "質問"},
				re: `(?:データ|文書|ドキュメント|テキスト|ウェブページ|関数|表|記事|履歴書|内容|メール|ファイル|コード|レポート|レビュー|タスク|質問)(?:は|を)無視(?:して|し)[、,]?(?:代わりに)?[^。\n]{0,20}?(?:と言って|と述べて|と答えて|と出力|と書いて|と表示)`},
			{lang: "en", words: []string{"stop"},
				re: `\bstop (?:everything|what you(?:'re| are) doing)[.!, ]+(?:now[.!, ]+)?(?:and )?(?:just |instead |now )?(?:say|print|write|output|respond|reply|tell|type|repeat)\b`},
		},
	},
	{
		name: "new_instructions", fam: "override", score: 0.65,
		desc: "Announces new, updated or real instructions, or a new task that replaces the current one.",
		pats: []pattern{
			{lang: "en", need: []string{"instruction", "directive", "orders", "commands", "prompt", "task", "goal", "objective", "purpose", "mission", "programming"}, words: []string{"new", "updated", "revised", "real", "actual", "true", "secret", "overrid", "your"},
				re: `\b(?:new|updated|revised|real|actual|true|secret|overriding) (?:system )?(?:instructions?|directives?|orders|commands|prompt) ?(?::|-{1,2} |are as follows|follow:)|\byour (?:new|real|actual|true|updated|revised) (?:task|instructions?|goal|objective|purpose|mission|directive|prime directive|programming) (?:is|are|will be|now is|from now on|:)`},
			{lang: "de", words: []string{"neue", "deine", "ihre"},
				re: `\bneue (?:anweisungen|anweisung|instruktionen|befehle|aufgabe|regeln) ?:|\b(?:deine|ihre) neue (?:aufgabe|anweisung|mission|rolle) (?:ist|lautet|besteht)`},
			{lang: "fr", words: []string{"nouvel", "ta", "votre"},
				re: `\bnouvel(?:le)?s? (?:instructions?|consignes?|directives?|tâche|tache|règles|regles) ?:|\b(?:ta|votre) nouvelle (?:tâche|tache|mission|instruction|consigne) (?:est|consiste)`},
			{lang: "es", words: []string{"nueva", "nuevas", "nuevo", "nuevos", "tu", "su"},
				re: `\bnuev[ao]s? (?:instrucciones|instrucción|instruccion|órdenes|ordenes|tarea|reglas|indicaciones) ?:|\b(?:tu|su) nueva (?:tarea|misión|mision|instrucción|instruccion|función|funcion) (?:es|será|sera|consiste)`},
			{lang: "pt", words: []string{"nova", "novas", "novo", "novos", "sua", "tua"},
				re: `\bnov[ao]s? (?:instruções|instrucoes|instrução|instrucao|ordens|tarefa|regras|orientações|orientacoes) ?:|\b(?:sua|tua) nova (?:tarefa|missão|missao|instrução|instrucao|função|funcao) (?:é|e|será|sera|consiste)\b`},
			{lang: "it", need: []string{"nuov"}, words: []string{"nuov", "il", "la"},
				re: `\bnuov[eoia] (?:istruzioni|istruzione|ordini|compito|regole|indicazioni|direttive) ?:|\b(?:il tuo nuovo compito|la tua nuova (?:missione|istruzione|funzione)) (?:è|e|sarà|sara|consiste)\b`},
			{lang: "zh", lits: []string{"新的", "新指令", "新指示", "新任务", "新任務", "新规则", "新規則", "新命令", "你的新"},
				re: `(?:新的|新)(?:指令|指示|任务|任務|规则|規則|命令)\s?[:：]|你的新(?:任务|任務|指令|指示|目标|目標)(?:是|為|为)`},
			{lang: "ja", lits: []string{"新しい"},
				re: `新しい(?:指示|命令|指令|タスク|任務|ルール)\s?(?::|：|は)`},
			{lang: "ru", words: []string{"нов", "тво", "ваш"},
				re: `нов(?:ые|ая|ое) (?:инструкци\p{L}*|указани\p{L}*|команд\p{L}*|задач\p{L}*|правил\p{L}*) ?:|(?:твоя|ваша) новая (?:задача|инструкция|миссия) (?:—|-|:|это|состоит|заключается)`},
		},
	},
	{
		name: "from_now_on", fam: "override", score: 0.35,
		desc: "\"From now on you ...\": a weak cue that a prompt is redefining the model's behaviour; alone it does not block.",
		pats: []pattern{
			{lang: "en", words: []string{"from"},
				re: `\bfrom (?:now|this (?:point|moment)|here) on(?:wards?)?,? (?:you|your)\b`},
			{lang: "de", need: []string{"jetzt", "sofort", "nun"}, words: []string{"ab", "von"},
				re: `(?:ab (?:jetzt|sofort|nun)|von (?:nun|jetzt) an),? (?:wirst|bist|sollst|musst|antwortest|du|sie)\b`},
			{lang: "fr", words: []string{"à", "désormais", "desormais", "dorénavant", "dorenavant"},
				re: `(?:à partir de maintenant|désormais|desormais|dorénavant|dorenavant),? (?:tu|vous)\b`},
			{lang: "es", need: []string{"ahora"}, words: []string{"partir", "de", "desde"},
				re: `(?:partir de ahora|de ahora en adelante|desde ahora),? (?:tú|tu|usted|vas|serás|seras|eres|responderás|responderas|actuarás|actuaras)\b`},
			{lang: "pt", need: []string{"agora"}, words: []string{"partir", "de"},
				re: `(?:partir de agora|de agora em diante),? (?:você|voce|tu|vai|será|sera|é|responderá|respondera|agirá|agira)\b`},
			{lang: "it", need: []string{"poi", "avanti"}, words: []string{"ora", "adesso"},
				re: `(?:ora|adesso) in (?:poi|avanti),? (?:tu|lei|sarai|sei|risponderai|agirai|devi)\b`},
			{lang: "zh", lits: []string{"从现在开始", "從現在開始", "从现在起", "從現在起", "从今以后", "從今以後"},
				re: `(?:从现在开始|從現在開始|从现在起|從現在起|从今以后|從今以後)[,，]?\s?(?:你|您)`},
			{lang: "ja", lits: []string{"今から", "これから", "今後"},
				re: `(?:今から|これから|今後)(?:は)?、?(?:あなた|君|お前)(?:は|が)`},
			{lang: "ru", words: []string{"с", "отныне", "теперь"},
				re: `(?:с этого момента|отныне|теперь),? (?:ты|вы) (?:будешь|будете|должен|должны|являешься|являетесь)`},
		},
	},
}
