package secrets

// automaton is an Aho-Corasick matcher over ASCII-case-folded bytes, built as
// a dense DFA over the bytes the patterns use, so a scan is one table look-up
// per input byte and allocates nothing.
type automaton struct {
	class    [256]uint8 // byte → column; 0 is "no pattern uses this byte"
	nclass   int
	delta    []int32 // state*nclass + class → next state
	outStart []int32 // outputs of state s are outs[outStart[s]:outStart[s+1]]
	outs     []int32 // pattern indices
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func newAutomaton(patterns []string) *automaton {
	a := &automaton{}
	next := 1
	for _, p := range patterns {
		for i := 0; i < len(p); i++ {
			c := lowerASCII(p[i])
			if a.class[c] == 0 {
				a.class[c] = uint8(next)
				next++
			}
		}
	}
	for c := 'A'; c <= 'Z'; c++ {
		a.class[c] = a.class[c+'a'-'A']
	}
	a.nclass = next
	// Trie.
	children := []map[int]int32{{}}
	outputs := [][]int32{nil}
	for pi, p := range patterns {
		s := 0
		for i := 0; i < len(p); i++ {
			col := int(a.class[lowerASCII(p[i])])
			t, ok := children[s][col]
			if !ok {
				t = int32(len(children))
				children[s][col] = t
				children = append(children, map[int]int32{})
				outputs = append(outputs, nil)
			}
			s = int(t)
		}
		outputs[s] = append(outputs[s], int32(pi))
	}
	n := len(children)
	a.delta = make([]int32, n*a.nclass)
	fail := make([]int32, n)
	// Breadth-first: a state's failure link is resolved before its children.
	queue := make([]int32, 0, n)
	for col := 0; col < a.nclass; col++ {
		if t, ok := children[0][col]; ok {
			a.delta[col] = t
			queue = append(queue, t)
		}
	}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		outputs[s] = append(outputs[s], outputs[fail[s]]...)
		for col := 0; col < a.nclass; col++ {
			if t, ok := children[s][col]; ok {
				fail[t] = a.delta[int(fail[s])*a.nclass+col]
				a.delta[int(s)*a.nclass+col] = t
				queue = append(queue, t)
			} else {
				a.delta[int(s)*a.nclass+col] = a.delta[int(fail[s])*a.nclass+col]
			}
		}
	}
	a.outStart = make([]int32, n+1)
	for s := 0; s < n; s++ {
		a.outStart[s] = int32(len(a.outs))
		a.outs = append(a.outs, outputs[s]...)
	}
	a.outStart[n] = int32(len(a.outs))
	return a
}
