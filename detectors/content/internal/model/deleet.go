package model

// leet maps the digits and symbols commonly written for letters.
var leet = [256]byte{'0': 'o', '1': 'i', '3': 'e', '4': 'a', '5': 's', '7': 't', '8': 'b', '@': 'a', '$': 's', '!': 'i', '|': 'l', '+': 't', '(': 'c', '*': 'u'}

func isLetter(b byte) bool { return b >= 'a' && b <= 'z' }

// Deleet returns s with leetspeak substitutions inside words undone, byte
// for byte, so offsets into the result are offsets into s. A character is
// replaced only between two letters or when the word it sits in has at
// least two letters and it is not at the word's start followed by a
// non-letter ("4 kids", "1990", "$5" stay as they are). It returns s itself
// when nothing changes.
func Deleet(s string) string {
	var out []byte
	n := len(s)
	for i := 0; i < n; i++ {
		r := leet[s[i]]
		if r == 0 {
			continue
		}
		// find the word around i: letters and leet characters
		lo := i
		for lo > 0 && (isLetter(s[lo-1]) || (leet[s[lo-1]] != 0 && s[lo-1] != '(' && s[lo-1] != '!')) {
			lo--
		}
		hi := i + 1
		for hi < n && (isLetter(s[hi]) || leet[s[hi]] != 0) {
			hi++
		}
		letters := 0
		for k := lo; k < hi; k++ {
			if isLetter(s[k]) {
				letters++
			}
		}
		// Punctuation stands for a letter only with a letter right after it
		// ("sh!t", "$hit"), never at a word's end ("wow!!", "hi!").
		if letters < 2 || (s[i] < '0' || s[i] > '9') && !isLetter(byteAt(s, i+1)) {
			continue
		}
		if i > lo && i < hi-1 || isLetter(byteAt(s, i-1)) || isLetter(byteAt(s, i+1)) {
			if out == nil {
				out = []byte(s)
			}
			out[i] = r
		}
	}
	if out == nil {
		return s
	}
	return string(out)
}

func byteAt(s string, i int) byte {
	if i < 0 || i >= len(s) {
		return 0
	}
	return s[i]
}
