package rules

const (
	// enSysPrompt: names for the hidden prompt the attacker wants.
	enSysPrompt = `(?:system prompt|system message|system instructions?|sys prompt|initial (?:prompt|instructions?)|original (?:prompt|instructions?)|hidden (?:prompt|instructions?)|secret (?:prompt|instructions?)|pre-?prompt|developer (?:prompt|instructions?|message)|custom instructions|configuration prompt|meta[- ]?prompt|base prompt|starting prompt|first prompt|internal (?:prompt|instructions?|rules|guidelines)|(?:full|complete|exact|entire) (?:prompt|instructions))`
	enShow      = `(?:reveal|show|print|display|output|repeat|recite|tell|give|share|disclose|leak|write out|write down|list|dump|expose|return|provide|paste|spell out|echo|reproduce|copy|type out|read back|read out|summari[sz]e|translate)`
)

var extractionRules = []rule{
	{
		name: "system_prompt", fam: "extraction", score: 0.85,
		desc: "Asks the model to reveal, print or repeat its system prompt, initial or hidden instructions.",
		pats: []pattern{
			{lang: "en", need: []string{"prompt", "instruction", "rules", "guideline", "directive", "programming", "configuration", "message"}, words: []string{"reveal", "show", "print", "display", "output", "repeat", "recite", "tell", "give", "share", "disclose", "leak", "write", "list", "dump", "expose", "return", "provide", "paste", "spell", "echo", "reproduce", "copy", "type", "read", "summari", "translat"},
				re: `\b` + enShow + `(?: me| us)?(?: back)? (?:\w+ ){0,3}?(?:your|its)(?: own)? (?:(?:entire|full|complete|exact|original|initial|hidden|secret|whole|verbatim) )?` + enSysPrompt + `\b` +
					`|\b` + enShow + `(?: me| us)?(?: back)? (?:\w+ ){0,3}?(?:your|its)(?: own)? (?:entire|full|complete|exact|original|initial|hidden|secret|whole|verbatim|underlying) (?:prompt|instructions|rules|guidelines|directives|programming|configuration)\b` +
					`|\b` + enShow + `(?: me| us)?(?: back)? (?:\w+ ){0,3}?(?:your|its) (?:prompt|instructions|rules|guidelines|directives|programming) (?:verbatim|word for word|exactly as|in full|you (?:were|have been) given|from (?:the|your) developers?)\b` +
					`|\b` + enShow + `(?: me| us)?(?: back)? (?:\S+ ){0,4}?(?:initial|original|hidden|secret) (?:prompt|instructions|configuration)\b` +
					`|\b` + enShow + `(?: me| us)?(?: back)? (?:\w+ ){0,2}?the (?:` + enSysPrompt + `)\b(?:[^.\n]{0,40}\b(?:you (?:were|have been|got|received)|verbatim|word for word|exactly|in full|above|before)\b)`},
			{lang: "en", need: []string{"prompt", "instruction", "told", "programmed", "configured", "given", "rules", "message"}, words: []string{"what"},
				re: `\bwhat (?:is|are|was|were) (?:your|the) (?:exact |full |complete |original |initial |hidden |secret )?(?:` + enSysPrompt + `|instructions you (?:were|have been) given|rules you (?:were|have been) given)\b|\bwhat (?:were you|have you been|did they) (?:told|instructed|programmed|given|configured)(?: to do| with)? (?:before|prior to|at the (?:start|beginning) of) (?:this|our|the) (?:conversation|chat|session)`},
			{lang: "de", need: []string{"prompt", "systemprompt", "anweisung", "systemnachricht"}, words: []string{"zeig", "gib", "nenn", "verrat", "wiederhol", "druck", "schreib", "teil", "wie", "was", "offenbar"},
				re: `(?:zeig|gib|nenn|verrat|wiederhol|druck|schreib|teil|offenbar)\p{L}*(?: mir| uns)? (?:bitte )?(?:\p{L}+ )?(?:deinen|deine|dein|ihren|ihre|den|die|das) (?:vollständigen |vollstandigen |ursprünglichen |ursprunglichen |geheimen |versteckten |genauen |ersten )?(?:system-?prompt|systemprompt|systemanweisung(?:en)?|systemnachricht|anfangsanweisungen|ausgangsanweisungen|ursprünglichen anweisungen|ursprunglichen anweisungen|versteckten anweisungen|geheimen anweisungen|initialen anweisungen|prompt)|\bwie lautet (?:dein|ihr|der) (?:system-?prompt|systemprompt|prompt)|\bwas (?:ist|sind) (?:dein|deine|ihr|ihre) (?:system-?prompt|systemprompt|systemanweisungen|ursprünglichen anweisungen|anweisungen)`},
			{lang: "fr", need: []string{"prompt", "invite", "message", "instructions", "consignes"}, words: []string{"montre", "affich", "révèl", "revel", "révél", "donne", "répèt", "repet", "répét", "dis", "dites", "écri", "ecri", "imprim", "quel", "quelles", "partag", "divulgu"},
				re: `(?:montre|affiche|révèle|revele|révéle|donne|répète|repete|répéte|dis|dites|écris|ecris|écrivez|imprime|partage|divulgue)(?:z|s)?(?:-moi|-nous| moi)? (?:\p{L}+ )?(?:ton|votre|tes|vos|le|les|ta) (?:prompt (?:système|systeme|initial|d'origine|original)|invite (?:système|systeme|initiale)|message (?:système|systeme)|instructions (?:initiales|système|systeme|du système|du systeme|d'origine|originales|cachées|cachees|secrètes|secretes)|consignes (?:initiales|système|systeme|d'origine|cachées))|\bquel(?:le)?s? (?:est|sont) (?:ton|votre|tes|vos) (?:prompt (?:système|systeme)|instructions (?:initiales|système|systeme|d'origine))`},
			{lang: "es", need: []string{"prompt", "mensaje", "instrucciones", "indicaciones"}, words: []string{"muestr", "mués", "revél", "revel", "dime", "díme", "repit", "repet", "imprim", "escrib", "dame", "deme", "compart", "cuál", "cual", "enséñ", "ensen", "mostr"},
				re: `(?:muéstrame|muestrame|muestra|muestre|revélame|revelame|revela|revele|dime|díme|repite|repita|imprime|imprima|escribe|escriba|dame|deme|comparte|comparta|enséñame|ensename|mostrar|revelar|repetir)(?: me)? (?:\p{L}+ )?(?:tu|tus|el|las|su|sus|los) (?:prompt (?:del sistema|de sistema|inicial|original)|mensaje (?:del sistema|de sistema)|instrucciones (?:iniciales|del sistema|de sistema|originales|ocultas|secretas)|indicaciones (?:del sistema|iniciales|originales))|\bcuál(?:es)? (?:es|son) (?:tu|tus|su|sus) (?:prompt (?:del sistema|de sistema)|instrucciones (?:iniciales|del sistema|originales))|\bcual(?:es)? (?:es|son) (?:tu|tus|su|sus) (?:prompt (?:del sistema|de sistema)|instrucciones (?:iniciales|del sistema|originales))`},
			{lang: "pt", need: []string{"prompt", "mensagem", "instruções", "instrucoes"}, words: []string{"mostr", "revel", "diga", "diz", "repit", "repet", "imprim", "escrev", "me", "compartilh", "qual", "quais"},
				re: `(?:mostre|mostra|mostrar|revele|revela|revelar|diga|diz|repita|repete|repetir|imprima|escreva|me dê|me de|compartilhe)(?:-me| me)? (?:\p{L}+ )?(?:seu|sua|suas|seus|o|a|as|os|teu|tuas|teus) (?:prompt (?:do sistema|de sistema|inicial|original)|mensagem (?:do sistema|de sistema)|instruções (?:iniciais|do sistema|de sistema|originais|ocultas|secretas)|instrucoes (?:iniciais|do sistema|de sistema|originais|ocultas|secretas))|\b(?:qual|quais) (?:é|e|são|sao) (?:o seu|a sua|as suas|seu|sua|suas) (?:prompt (?:do sistema|de sistema)|instruções (?:iniciais|do sistema|originais)|instrucoes (?:iniciais|do sistema|originais))`},
			{lang: "it", need: []string{"prompt", "messaggio", "istruzioni"}, words: []string{"mostr", "rivel", "dimmi", "ripet", "stamp", "scriv", "dammi", "condivid", "qual"},
				re: `(?:mostrami|mostra|mostrare|rivelami|rivela|rivelare|dimmi|ripeti|ripetere|stampa|scrivi|dammi|condividi)(?: mi)? (?:\p{L}+ )?(?:il tuo|i tuoi|le tue|la tua|il|le|i) (?:prompt (?:di sistema|del sistema|iniziale|originale)|messaggio (?:di sistema|del sistema)|istruzioni (?:iniziali|di sistema|del sistema|originali|nascoste|segrete))|\bqual(?:e|i)? (?:è|e|sono) (?:il tuo|le tue) (?:prompt (?:di sistema|del sistema)|istruzioni (?:iniziali|di sistema|originali))`},
			{lang: "zh", lits: []string{"系统提示", "系統提示", "系统指令", "系統指令", "初始指令", "初始提示", "原始指令", "原始提示", "系统消息", "系統消息", "系统设定", "系統設定", "隐藏指令", "隱藏指令", "提示词", "提示詞", "系统讯息", "系統訊息"}, free: true,
				re: `(?:显示|顯示|输出|輸出|打印|告诉我|告訴我|透露|泄露|洩露|重复|重複|展示|给我看|給我看|说出|說出|列出|公开|公開|分享|写出|寫出|复述|複述)[^。！？\n]{0,8}?(?:你的|您的)?(?:完整的|全部的|原始的)?(?:系统提示|系統提示|系统指令|系統指令|初始指令|初始提示|原始指令|原始提示|系统消息|系統消息|系统设定|系統設定|隐藏指令|隱藏指令|系统讯息|系統訊息|提示词|提示詞)|(?:你的|您的)(?:系统提示|系統提示|系统指令|系統指令|初始指令|初始提示|原始指令|提示词|提示詞)(?:词|詞)?(?:是什么|是什麼|内容是|內容是)`},
			{lang: "ja", lits: []string{"システムプロンプト", "初期プロンプト", "初期指示", "システムメッセージ", "隠された指示", "元の指示", "最初の指示", "システム指示"},
				re: `(?:システムプロンプト|初期プロンプト|初期指示|システムメッセージ|隠された指示|元の指示|最初の指示|システム指示)(?:を|の内容を|の全文を|は)?[^。\n]{0,10}?(?:教えて|表示|見せて|出力|繰り返|開示|書いて|言って|公開|印刷|何です|なんです|何ですか)`},
			{lang: "ru", words: []string{"покаж", "выведи", "раскрой", "повтори", "напиши", "скажи", "дай", "сообщи", "распечатай", "перечисли", "какой", "какие", "каков", "огласи", "процитируй"},
				re: `(?:покажи|покажите|выведи|выведите|раскрой|раскройте|повтори|повторите|напиши|напишите|скажи|скажите|дай|дайте|сообщи|сообщите|распечатай|перечисли|огласи|процитируй)(?: мне| нам)? (?:свой|свои|свою|твой|твои|твою|ваш|ваши|вашу|системн\p{L}*|исходн\p{L}*|начальн\p{L}*|первоначальн\p{L}*|скрыт\p{L}*|секретн\p{L}*)(?: \p{L}+)? (?:промпт|подсказк|инструкци|сообщени|указани|системн\p{L}* промпт)\p{L}*|(?:какой|каков|какие) (?:у тебя|у вас|твой|ваш|твои|ваши) (?:системн\p{L}* )?(?:промпт|инструкции|системная подсказка)`},
		},
	},
	{
		name: "repeat_above", fam: "extraction", score: 0.75,
		desc: "Asks the model to repeat or print the text, words or instructions above / before this message.",
		pats: []pattern{
			{lang: "en", need: []string{"above", "before", "preceding", "prior", "beginning", "start", "top"}, words: []string{"repeat", "print", "output", "recite", "echo", "reproduce", "copy", "spell", "dump", "reveal", "display", "show", "write", "type", "return", "tell"},
				re: `\b(?:repeat|print|output|recite|echo|reproduce|copy|spell out|dump|reveal|display|show|write out|type out|return|tell)(?: me| us)?(?: back)? (?:all (?:of )?)?(?:everything|all|the (?:entire |full |whole |complete |exact )?(?:text|words|content|message|messages|instructions|prompt|conversation|sentences|lines|characters|tokens|context))(?: that (?:was|were|is|are|came|comes))?(?: written| said| given| typed| provided)? (?:above|before (?:this|that|my)|preceding|prior to (?:this|my)|(?:from|at) the (?:very )?(?:beginning|start|top))\b`},
			{lang: "en", need: []string{"verbatim", "word", "exactly", "everything", "code", "txt", "above"}, words: []string{"start", "starting", "begin", "beginning"},
				re: `\b(?:start|starting|begin|beginning) with (?:the (?:phrase|words?|sentence|text) )?["'“]?you are (?:a|an|chatgpt|gpt)\b[^\n]{0,40}(?:verbatim|word for word|exactly|everything|all|code block|txt|above)`},
			{lang: "en", need: []string{"written", "said", "typed", "stated"}, words: []string{"everything", "all"},
				re: `\b(?:everything|all) (?:that )?(?:was|were|is) (?:written|said|typed|stated) (?:above|before (?:this (?:message|line|point)|the (?:user|my) (?:message|input))|at the (?:beginning|start|top) of (?:this|the|our) (?:conversation|chat|prompt|context))`},
			{lang: "de", need: []string{"oben", "darüber", "daruber", "über", "uber", "vor", "davor", "anfang"}, words: []string{"wiederhol", "gib", "geben", "zeig", "druck", "schreib"},
				re: `(?:wiederhole|wiederholen sie|gib|geben sie|zeig|zeigen sie|drucke|schreib)(?: mir)? (?:den gesamten |den ganzen |den )?(?:text|alles|wörter|worte|anweisungen|inhalt)(?: \p{L}+)? (?:oben|darüber|daruber|über dieser nachricht|vor dieser nachricht|davor|am anfang)`},
			{lang: "fr", words: []string{"répèt", "repet", "répét", "affich", "imprim", "recopi", "écri", "ecri"},
				re: `(?:répète|repete|répéte|répétez|repetez|affiche|affichez|imprime|imprimez|recopie|recopiez|écris|ecris|écrivez)(?:-moi)? (?:tout )?(?:le texte|tout|les mots|les instructions|le contenu|ce qui est écrit|ce qui est ecrit)(?: qui est| qui se trouve)? (?:ci-dessus|au-dessus|plus haut|avant ce message|au début|au debut)`},
			{lang: "es", words: []string{"repit", "imprim", "muestr", "escrib", "copi"},
				re: `(?:repite|repita|imprime|imprima|muestra|muestre|escribe|escriba|copia|copie)(?: me)? (?:todo )?(?:el texto|todo|las palabras|las instrucciones|el contenido|lo que está escrito|lo que esta escrito)(?: que está| que esta)? (?:de arriba|arriba|anterior|antes de este mensaje|al principio|por encima)`},
			{lang: "pt", words: []string{"repit", "repet", "imprim", "mostr", "escrev", "copi"},
				re: `(?:repita|repete|imprima|mostre|escreva|copie)(?: me)? (?:todo |tudo )?(?:o texto|tudo|as palavras|as instruções|as instrucoes|o conteúdo|o conteudo|o que está escrito|o que esta escrito)(?: que está| que esta)? (?:acima|anterior|antes desta mensagem|no início|no inicio)`},
			{lang: "it", words: []string{"ripet", "stamp", "mostr", "scriv", "copi"},
				re: `(?:ripeti|ripetete|stampa|mostra|scrivi|copia)(?:mi)? (?:tutto )?(?:il testo|tutto|le parole|le istruzioni|il contenuto|quello che è scritto|quello che e scritto)(?: che è| che e)? (?:sopra|precedente|prima di questo messaggio|all'inizio)`},
			{lang: "zh", lits: []string{"重复", "重複", "输出", "輸出", "打印", "复述", "複述", "显示", "顯示", "逐字", "原样", "原樣"},
				re: `(?:重复|重複|输出|輸出|打印|复述|複述|显示|顯示|逐字|原样|原樣)[^。！？\n]{0,6}(?:上面|以上|之前|前面)(?:的|所有的|全部)?(?:所有)?(?:文本|文字|内容|內容|指令|指示|话|話|单词|單詞|提示)`},
			{lang: "ja", lits: []string{"上記", "上の", "これより前の", "以前の"},
				re: `(?:上記|上の|これより前の|以前の)(?:テキスト|文章|内容|指示|言葉|プロンプト)(?:を|の全文を)?(?:すべて|全て|そのまま)?(?:繰り返|出力|表示|書き出|印刷|コピー)`},
			{lang: "ru", words: []string{"повтори", "выведи", "напиши", "распечатай", "покажи", "скопируй"},
				re: `(?:повтори|повторите|выведи|выведите|напиши|напишите|распечатай|покажи|скопируй)(?: мне)? (?:весь |всё |все )?(?:текст|слова|инструкции|содержимое|всё|все|то,? что)(?: \p{L}+)? (?:выше|до этого сообщения|в начале|перед этим сообщением)`},
		},
	},
}
