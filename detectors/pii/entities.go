package pii

import "strings"

// Entity is one kind of personal data the family detects.
type Entity uint8

// The entity types. Names (Entity.String) follow the labels of the
// development corpus (Presidio's names, shortened) where it has one.
const (
	Email Entity = iota
	Phone
	CreditCard
	IBAN
	SSN
	IPAddress
	MACAddress
	DateOfBirth
	UKNINO
	ESNIF
	ESNIE
	ITFiscalCode
	DETaxID
	NLBSN
	PLPESEL
	SEPersonnummer
	INAadhaar
	BRCPF
	Crypto
	Address
	Person
	Location
	Organization
	numEntities
)

var entityNames = [numEntities]string{
	Email:          "EMAIL",
	Phone:          "PHONE",
	CreditCard:     "CREDIT_CARD",
	IBAN:           "IBAN",
	SSN:            "SSN",
	IPAddress:      "IP_ADDRESS",
	MACAddress:     "MAC_ADDRESS",
	DateOfBirth:    "DATE_OF_BIRTH",
	UKNINO:         "UK_NINO",
	ESNIF:          "ES_NIF",
	ESNIE:          "ES_NIE",
	ITFiscalCode:   "IT_FISCAL_CODE",
	DETaxID:        "DE_TAX_ID",
	NLBSN:          "NL_BSN",
	PLPESEL:        "PL_PESEL",
	SEPersonnummer: "SE_PERSONNUMMER",
	INAadhaar:      "IN_AADHAAR",
	BRCPF:          "BR_CPF",
	Crypto:         "CRYPTO",
	Address:        "ADDRESS",
	Person:         "PERSON",
	Location:       "LOCATION",
	Organization:   "ORGANIZATION",
}

// entityRules holds "pii.<lower-case name>" so findings do not build strings.
var entityRules = func() (r [numEntities]string) {
	for i, n := range entityNames {
		r[i] = "pii." + strings.ToLower(n)
	}
	return r
}()

// String returns the entity type name, e.g. "CREDIT_CARD".
func (e Entity) String() string {
	if e < numEntities {
		return entityNames[e]
	}
	return "UNKNOWN"
}

// Rule returns the entity's stable rule ID, e.g. "pii.credit_card".
func (e Entity) Rule() string {
	if e < numEntities {
		return entityRules[e]
	}
	return "pii.unknown"
}

// Entities lists every entity type the family can detect, in a stable order.
func Entities() []Entity {
	out := make([]Entity, numEntities)
	for i := range out {
		out[i] = Entity(i)
	}
	return out
}

// ParseEntity maps a type name (case-insensitive) to its Entity.
func ParseEntity(name string) (Entity, bool) {
	for i, n := range entityNames {
		if strings.EqualFold(n, name) {
			return Entity(i), true
		}
	}
	return 0, false
}
