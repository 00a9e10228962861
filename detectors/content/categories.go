package content

import "github.com/llm-firewall/llm-firewall/detectors/internal/harm"

// Category is a content category; its name is the rule suffix. The
// categories and the lexicon live in detectors/internal/harm, shared with
// the injection family.
type Category = harm.Category

// Categories, in report order. The kids-only categories come last.
const (
	Sexual         = harm.Sexual
	SelfHarm       = harm.SelfHarm
	Violence       = harm.Violence
	Hate           = harm.Hate
	Weapons        = harm.Weapons
	Drugs          = harm.Drugs
	Profanity      = harm.Profanity
	Crime          = harm.Crime
	Cybercrime     = harm.Cybercrime
	Harassment     = harm.Harassment
	Other          = harm.Other
	ContactRequest = harm.ContactRequest
	Grooming       = harm.Grooming
	PersonalInfo   = harm.PersonalInfo
	Link           = harm.Link
)
