package harm

// Lexicons for languages other than English, written for this project from
// general knowledge (see README.md, "Provenance"). Latin-script words are
// matched after accent folding ("tötet" = "totet"), so they are written
// without accents; scripts without spaces between words (or with attached
// affixes) are matched as substrings.

var intlTerms = []term{
	// request frames
	{catIntent, 0, 0, "wie kann|koennte|konnte|mache|baue|bekomme|finde|tote ~1 ich|man"},
	{catIntent, 0, 0, "wie man"},
	{catIntent, 0, 0, "ich will|mochte|moechte|werde"},
	{catIntent, 0, 0, "comment|je+veux|je+voudrais|aide-moi|explique-moi|donne-moi"},
	{catIntent, 0, 0, "como|cómo|quiero|puedo|ayudame|dime|explicame|quero|posso|ajuda-me|ensina-me|me+ensina"},
	{catIntent, 0, 0, "come|voglio|posso|aiutami|spiegami|dimmi"},
	{catIntent, 0, 0, "cara|caranya|carane|gimana|piye|bagaimana|pengin|pingin|arep|aku+arep|tolong"},
	{catIntent, 0, 0, "ninawezaje|jinsi|nataka|ninataka|nisaidie|naweza"},
	{catIntent, 0, 0, "lam+sao|cach|toi+muon|minh+muon|giup"},

	// self-harm
	{SelfHarm, 0.9, 0, "mich|dich|sich umbringen|toten|ritzen"},
	{SelfHarm, 0.7, contextual, "selbstmord|suizid|freitod"},
	{SelfHarm, 0.9, 0, "me suicider|tuer"},
	{SelfHarm, 0.9, 0, "mettre fin a mes jours"},
	{SelfHarm, 0.9, 0, "suicidarme|matarme|suicidarse|suicidar-me|suicidarmi|uccidermi|ammazzarmi"},
	{SelfHarm, 0.9, 0, "me matar|cortar|suicidar"},
	{SelfHarm, 0.9, 0, "quitarme|quitar-me|tirar|togliermi la|minha|mia vida|vita"},
	{SelfHarm, 0.7, contextual, "suicide|suicidio|suicidi|autolesion|autolesiones|automutilacion|autolesionismo|automutilacao"},
	{SelfHarm, 0.8, 0, "bunuh diri"},
	{SelfHarm, 0.8, 0, "kujiua|kujidhuru"},
	{SelfHarm, 0.8, 0, "tự tử|sát"},
	{SelfHarm, 0.7, 0, "tự làm hại"},

	// violence
	{Violence, 0.75, needIntent | contextual, "toten|umbringen|ermorden|erstechen|erschiessen|vergiften|tuer|assassiner|empoisonner|poignarder|matar|asesinar|envenenar|apunalar|uccidere|ammazzare|avvelenare|accoltellare|giết|mateni|membunuh|bunuh|kuua|kumuua ~3 @personx"},
	{Violence, 0.5, needIntent | contextual, "toten|umbringen|ermorden|tuer|assassiner|matar|asesinar|uccidere|ammazzare|giết|đánh|mateni|membunuh|kuua|kumuua|kupiga"},
	{Violence, 0.45, contextual, "terroranschlag|attentat|attentato|atentado|terroristico|terrorista|khủng bố|teroris"},

	// weapons
	{Weapons, 0.9, needIntent, "bombe|bomba|bombas|bomben|sprengstoff|explosif|explosifs|explosivo|explosivos|esplosivo|esplosivi|bom|bomu|molotov ~3 bauen|herstellen|basteln|fabriquer|faire|hacer|fabricar|construir|fazer|costruire|fare|gawe|membuat|nggawe|kutengeneza|chế|làm"},
	{Weapons, 0.9, needIntent, "bauen|herstellen|fabriquer|hacer|fabricar|construir|fazer|costruire|fare|chế+tạo|làm|membuat|nggawe|kutengeneza ~3 bombe|bomba|bomben|sprengstoff|explosif|explosivo|esplosivo|bom|bomu"},
	{Weapons, 0.45, contextual, "bombe|bomba|bomben|sprengstoff|explosif|explosivo|esplosivo|bomu"},
	{Weapons, 0.4, contextual, "waffe|waffen|pistole|gewehr|arme|armes|fusil|pistolet|arma|armas|pistola|fucile|armi|bunduki|senjata|bedhil|súng"},

	// drugs
	{Drugs, 0.8, needIntent, "kaufen|besorgen|acheter|trouver|comprar|conseguir|vender|comprare|trovare|vendere|tuku|beli|kununua|mua|bán ~3 kokain|heroin|crystal|cocaine|heroine|cocaina|heroina|eroina|metanfetamina|drogen|drogue|drogues|droga|drogas|narkoba|sabu|ganja|dawa+za+kulevya|ma+túy|cần+sa|bangi|unga"},
	{Drugs, 0.5, contextual, "kokain|cocaina|heroina|eroina|metanfetamina|drogen|drogue|drogues|droga|drogas|narkoba|sabu|ganja|putaw|bangi|mirungi"},
	{Drugs, 0.5, contextual, "ma túy|tuý"},
	{Drugs, 0.5, contextual, "dawa za kulevya"},
	{Drugs, 0.5, contextual, "cần sa"},

	// sexual
	{Sexual, 0.95, 0, "kinderpornografie|kinderpornos|kinderporno|pedopornografia|pedopornografico|pedopornografía|pedofilia|pedophilie|pedofilo|pedofil"},
	{Sexual, 0.95, 0, "pornographie|pornografia|pornografía|porno ~1 infantile|infantil|infantile|anak|bocah|watoto|trẻ"},
	{Sexual, 0.6, 0, "porno|pornos|pornografia|pornographie|pornografía|bokep|ngono|khiêu|phim+sex"},
	{Sexual, 0.45, contextual, "sexo|sesso|seks|nackt|nue|nu|nues|desnuda|desnudo|nua|nuda|nudo|telanjang|uchi"},
	{Sexual, 0.8, 0, "nacktbilder|nacktfotos|nudes|fotos+desnuda|foto+nuda|foto+telanjang"},

	// profanity (kids)
	{Profanity, 0.45, mentionable, "scheisse|scheiss|fick|ficken|gefickt|arschloch|hurensohn|fotze|wichser|schlampe|verdammt|putain|merde|connard|connasse|salope|encule|nique|niquer|batard|mierda|puta|puto|joder|jodete|cono|cabron|pendejo|gilipollas|chinga|chingada|verga|porra|caralho|foda|fodase|foda-se|buceta|cu|cacete|cazzo|stronzo|stronza|vaffanculo|puttana|troia|minchia|coglione|bangsat|anjing|asu|jancok|kontol|memek|bajingan|tai|malaya|kuma|msenge|địt|đụ|cặc|lồn"},
	{Profanity, 0.45, mentionable, "filho da puta"},
	{Profanity, 0.45, mentionable, "hijo de puta"},
	{Profanity, 0.45, mentionable, "figlio di puttana"},
	{Profanity, 0.45, mentionable, "fils de pute"},

	// hate / harassment: a few unambiguous insults and dehumanising words
	{Harassment, 0.6, mentionable, "idiot|idiota|idiotas|imbecile|imbecil|imbecille|cretino|cretina|dummkopf|trottel|depp|vollidiot|abruti|debile|tonto|estupido|estupida|estupidos|stupido|stupida|burro|bodoh|goblok|tolol|mjinga|ngu"},
	{Hate, 0.7, 0, "neger|kanake|kanaken|bougnoule|bicot|negro+de+mierda|sudaca|frocio|ricchione|schwuchtel|marica|maricon|bicha|viado|sapatao"},

	// crime / cybercrime
	{Crime, 0.75, needIntent, "stehlen|klauen|voler|robar|roubar|furtare|rubare|nyolong|mencuri|nyuri|kuiba|trộm|ăn+cắp"},
	{Cybercrime, 0.75, needIntent, "hacken|pirater|hackear|piratear|hackerare|ngehack|meretas|kudukua|hack ~3 konto|compte|cuenta|conta|account|akun|akaun|tài+khoản|email|facebook|instagram|wifi"},

	// kids: contact requests, grooming, personal data (de, fr, es, pt, it)
	{ContactRequest, 0.8, 0, "schick|schicke|sende|envoie|envoie-moi|manda|mandame|mandami|enviame|envia|me+manda|inviami ~2 dein|deine|deinen|ta|ton|tes|tu|tus|sua|seu|tua|tuo|una|um|uma ~1 foto|fotos|bild|bilder|selfie|photo|photos|numero|nummer|handynummer|adresse|direccion|endereco|indirizzo|snap|snapchat|insta|instagram|whatsapp"},
	{ContactRequest, 0.8, 0, "lass|lasst ~1 uns ~2 treffen"},
	{ContactRequest, 0.8, 0, "treffen wir uns"},
	{ContactRequest, 0.8, 0, "on ~1 se ~1 voit|rencontre"},
	{ContactRequest, 0.8, 0, "rencontrons-nous|retrouvons-nous|rencontrons|voyons-nous"},
	{ContactRequest, 0.75, 0, "nos vemos|quedamos|veamos|encontremos|conozcamos"},
	{ContactRequest, 0.75, 0, "vamos ~1 nos ~1 encontrar|ver|conhecer"},
	{ContactRequest, 0.75, 0, "incontriamoci|vediamoci|ci vediamo|ci+incontriamo"},
	{ContactRequest, 0.7, 0, "wo wohnst du"},
	{ContactRequest, 0.7, 0, "ou habites|habite|vis ~1 tu"},
	{ContactRequest, 0.7, 0, "donde vives"},
	{ContactRequest, 0.7, 0, "onde voce ~1 mora"},
	{ContactRequest, 0.7, 0, "dove abiti|vivi"},
	{Grooming, 0.9, 0, "sag|erzahl|erzaehl ~2 es ~1 nicht ~1 deinen|deiner ~1 eltern|mama|papa|mutter|vater"},
	{Grooming, 0.9, 0, "ne ~1 le ~1 dis ~3 pas ~2 a ~1 tes|ta|ton ~1 parents|mere|pere|maman|papa"},
	{Grooming, 0.9, 0, "ne+dis+rien ~2 a ~1 tes|ta|ton ~1 parents|mere|pere|maman|papa"},
	{Grooming, 0.9, 0, "no ~1 le ~1 digas|cuentes ~3 a ~1 tus|tu ~1 padres|mama|papa|madre|padre"},
	{Grooming, 0.9, 0, "nao|não ~1 conte|conta|fala|diga ~3 aos|para ~1 seus|teus|os+seus ~1 pais|mae|pai"},
	{Grooming, 0.9, 0, "non ~1 dirlo|dire|raccontare ~3 ai ~1 tuoi ~1 genitori"},
	{Grooming, 0.85, 0, "unser|notre|nuestro|nosso|nostro ~1 kleines|petit|pequeno|piccolo ~1 geheimnis|secret|secreto|segredo|segreto"},
	{Grooming, 0.7, 0, "wie alt bist du"},
	{Grooming, 0.7, 0, "quel ~1 age ~1 as-tu|as|tu"},
	{Grooming, 0.7, 0, "cuantos anos tienes"},
	{Grooming, 0.7, 0, "quantos anos ~1 voce|tu ~1 tem|tens"},
	{Grooming, 0.7, 0, "quanti anni hai"},
	{Grooming, 0.75, 0, "bist du allein"},
	{Grooming, 0.75, 0, "tu es seul|seule"},
	{Grooming, 0.75, 0, "estas sola|solo"},
	{Grooming, 0.75, 0, "voce ~1 esta|ta ~1 sozinha|sozinho"},
	{Grooming, 0.75, 0, "sei sola|solo"},
	{PersonalInfo, 0.7, 0, "ich wohne in|im|an|am"},
	{PersonalInfo, 0.75, 0, "meine adresse|handynummer|telefonnummer ~1 ist"},
	{PersonalInfo, 0.7, 0, "j'habite|jhabite|habite ~1 a|au|rue"},
	{PersonalInfo, 0.75, 0, "mon adresse|numero ~1 est|c'est"},
	{PersonalInfo, 0.7, 0, "vivo en|na|em|a|in ~1 la|calle|rua|via"},
	{PersonalInfo, 0.7, 0, "eu moro|abito ~1 em|na|no|a|in"},
	{PersonalInfo, 0.75, 0, "mi|minha|meu|il+mio ~1 direccion|endereco|indirizzo|numero|telefono ~1 es|e"},
}

// subTerms are matched as substrings (Chinese, Korean, Thai, Arabic,
// Bengali).
var subTerms = []subTerm{
	// zh
	{SelfHarm, 0.8, "自杀"}, {SelfHarm, 0.8, "自殺"}, {SelfHarm, 0.7, "自残"}, {SelfHarm, 0.7, "割腕"},
	{Violence, 0.6, "杀死"}, {Violence, 0.6, "杀人"}, {Violence, 0.6, "殺人"}, {Violence, 0.5, "谋杀"}, {Violence, 0.5, "恐怖袭击"}, {Violence, 0.5, "打死"},
	{Weapons, 0.85, "制造炸弹"}, {Weapons, 0.85, "做炸弹"}, {Weapons, 0.5, "炸弹"}, {Weapons, 0.5, "炸药"}, {Weapons, 0.45, "枪支"},
	{Drugs, 0.55, "毒品"}, {Drugs, 0.55, "冰毒"}, {Drugs, 0.55, "海洛因"}, {Drugs, 0.55, "可卡因"}, {Drugs, 0.5, "大麻"},
	{Sexual, 0.95, "儿童色情"}, {Sexual, 0.6, "色情"}, {Sexual, 0.6, "黄片"}, {Sexual, 0.6, "裸照"}, {Sexual, 0.45, "性交"},
	{Profanity, 0.45, "他妈的"}, {Profanity, 0.45, "傻逼"}, {Profanity, 0.45, "操你"}, {Harassment, 0.5, "白痴"},
	{Crime, 0.6, "偷"}, {Cybercrime, 0.6, "黑客"},
	// ko
	{SelfHarm, 0.8, "자살"}, {SelfHarm, 0.7, "자해"},
	{Violence, 0.55, "죽이"}, {Violence, 0.55, "살인"}, {Violence, 0.5, "테러"}, {Violence, 0.5, "폭행"},
	{Weapons, 0.55, "폭탄"}, {Weapons, 0.5, "폭발물"}, {Weapons, 0.45, "총기"},
	{Drugs, 0.55, "마약"}, {Drugs, 0.55, "코카인"}, {Drugs, 0.55, "필로폰"}, {Drugs, 0.5, "대마"},
	{Sexual, 0.6, "야동"}, {Sexual, 0.6, "포르노"}, {Sexual, 0.95, "아동 포르노"}, {Sexual, 0.5, "섹스"},
	{Profanity, 0.45, "씨발"}, {Profanity, 0.45, "개새끼"}, {Profanity, 0.45, "병신"},
	{Crime, 0.55, "훔치"}, {Cybercrime, 0.55, "해킹"},
	// th
	{SelfHarm, 0.8, "ฆ่าตัวตาย"}, {SelfHarm, 0.7, "ทำร้ายตัวเอง"},
	{Violence, 0.5, "ฆ่า"}, {Violence, 0.5, "ก่อการร้าย"},
	{Weapons, 0.5, "ระเบิด"}, {Weapons, 0.45, "ปืน"},
	{Drugs, 0.55, "ยาเสพติด"}, {Drugs, 0.55, "ยาบ้า"}, {Drugs, 0.55, "โคเคน"}, {Drugs, 0.55, "เฮโรอีน"},
	{Sexual, 0.6, "หนังโป๊"}, {Sexual, 0.6, "ลามก"}, {Sexual, 0.5, "เซ็กส์"},
	{Crime, 0.55, "ขโมย"}, {Cybercrime, 0.55, "แฮ็ก"},
	// ar
	{SelfHarm, 0.8, "انتحار"}, {SelfHarm, 0.8, "الانتحار"}, {SelfHarm, 0.8, "أنتحر"},
	{Violence, 0.5, "قتل"}, {Violence, 0.5, "أقتل"}, {Violence, 0.5, "إرهاب"},
	{Weapons, 0.55, "قنبلة"}, {Weapons, 0.5, "متفجرات"}, {Weapons, 0.45, "سلاح"},
	{Drugs, 0.55, "مخدرات"}, {Drugs, 0.55, "كوكايين"}, {Drugs, 0.55, "هيروين"}, {Drugs, 0.5, "حشيش"},
	{Sexual, 0.6, "إباحية"}, {Sexual, 0.6, "اباحية"}, {Sexual, 0.5, "جنس"},
	{Crime, 0.55, "سرقة"}, {Crime, 0.55, "أسرق"}, {Cybercrime, 0.55, "اختراق"},
	// bn
	{SelfHarm, 0.8, "আত্মহত্যা"},
	{Violence, 0.5, "হত্যা"}, {Violence, 0.5, "খুন"}, {Violence, 0.5, "মেরে ফেল"},
	{Weapons, 0.55, "বোমা"}, {Weapons, 0.5, "বিস্ফোরক"}, {Weapons, 0.45, "বন্দুক"},
	{Drugs, 0.55, "মাদক"}, {Drugs, 0.55, "কোকেন"}, {Drugs, 0.55, "হেরোইন"},
	{Sexual, 0.6, "পর্নো"}, {Sexual, 0.5, "যৌন"},
	{Crime, 0.55, "চুরি"}, {Cybercrime, 0.55, "হ্যাক"},
}

var intlClasses = map[string]string{
	"personx": "jemanden|ihn|sie|meinen|meine|nachbarn|frau|mann|chef|quelquun|lui|elle|mon|ma|voisin|femme|mari|patron|alguien|alguem|lo|la|mi|meu|minha|vecino|vizinho|esposa|marido|jefe|chefe|qualcuno|mio|mia|vicino|moglie|capo|wong|bojoku|tanggaku|mtu|jirani|mke|mume|người|vợ|chồng|hàng+xóm",
}

func allTerms() []term {
	out := make([]term, 0, len(intentTerms)+len(mentionTerms)+len(benignTerms)+len(enTerms)+len(kidsTerms)+len(intlTerms))
	for _, ts := range [][]term{intentTerms, mentionTerms, benignTerms, enTerms, kidsTerms, intlTerms} {
		out = append(out, ts...)
	}
	return out
}

func allSubTerms() []subTerm { return subTerms }
