package output

// anchorSet finds literal anchors in one pass (Aho-Corasick as a DFA over
// byte classes): jailbreak rules only run their regular expressions around
// an anchor hit, so a clean answer costs one table walk.
type anchorSet struct {
	class  [256]uint8
	nclass int
	// next[row+class] is the row of the next state, row = state*nclass;
	// the low bit of a row is set when anchors end at that state.
	next []uint32
	out  [][]int32 // anchor indices ending at each state
	lens []int     // anchor lengths
}

func newAnchorSet(anchors []string) *anchorSet {
	a := &anchorSet{lens: make([]int, len(anchors))}
	// Byte classes: one per byte used by some anchor, 0 for the rest.
	for _, s := range anchors {
		for i := 0; i < len(s); i++ {
			if a.class[s[i]] == 0 {
				a.nclass++
				a.class[s[i]] = uint8(a.nclass)
			}
		}
	}
	a.nclass++
	if a.nclass > 256 {
		panic("output: too many anchor byte classes")
	}
	// Trie.
	type node struct {
		child map[uint8]int
		fail  int
		out   []int32
	}
	nodes := []node{{child: map[uint8]int{}}}
	for ai, s := range anchors {
		a.lens[ai] = len(s)
		cur := 0
		for i := 0; i < len(s); i++ {
			c := a.class[s[i]]
			nx, ok := nodes[cur].child[c]
			if !ok {
				nodes = append(nodes, node{child: map[uint8]int{}})
				nx = len(nodes) - 1
				nodes[cur].child[c] = nx
			}
			cur = nx
		}
		nodes[cur].out = append(nodes[cur].out, int32(ai))
	}
	if len(nodes) > 1<<16 {
		panic("output: too many anchor states")
	}
	nx16 := make([]uint16, len(nodes)*a.nclass)
	// Breadth-first: fail links, then full transitions.
	queue := []int{}
	for c := 0; c < a.nclass; c++ {
		if nx, ok := nodes[0].child[uint8(c)]; ok && c != 0 {
			nx16[c] = uint16(nx)
			queue = append(queue, nx)
		}
	}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		f := nodes[cur].fail
		nodes[cur].out = append(nodes[cur].out, nodes[f].out...)
		for c := 0; c < a.nclass; c++ {
			if nx, ok := nodes[cur].child[uint8(c)]; ok && c != 0 {
				nodes[nx].fail = int(nx16[f*a.nclass+c])
				nx16[cur*a.nclass+c] = uint16(nx)
				queue = append(queue, nx)
			} else {
				nx16[cur*a.nclass+c] = nx16[f*a.nclass+c]
			}
		}
	}
	a.out = make([][]int32, len(nodes))
	for i := range nodes {
		a.out[i] = nodes[i].out
	}
	// Rows are even when nclass is; make it so, to keep the low bit free.
	stride := a.nclass + a.nclass&1
	a.next = make([]uint32, len(nodes)*stride)
	for st := range nodes {
		for c := 0; c < a.nclass; c++ {
			to := int(nx16[st*a.nclass+c])
			row := uint32(to * stride)
			if len(nodes[to].out) > 0 {
				row |= 1
			}
			a.next[st*stride+c] = row
		}
	}
	a.nclass = stride
	return a
}

// each calls fn(anchor, end) for every anchor occurrence in s, end being
// the byte after it; fn returns false to stop.
func (a *anchorSet) each(s string, fn func(anchor, end int) bool) {
	row := uint32(0)
	next, class := a.next, &a.class
	for i := 0; i < len(s); i++ {
		row = next[row&^1+uint32(class[s[i]])]
		if row&1 != 0 {
			for _, ai := range a.out[int(row>>1<<1)/a.nclass] {
				if !fn(int(ai), i+1) {
					return
				}
			}
		}
	}
}
