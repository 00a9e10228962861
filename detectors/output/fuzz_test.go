package output

import (
	"context"
	"testing"

	"github.com/llm-firewall/llm-firewall/pipeline"
)

// FuzzDetect feeds arbitrary text to every check (as answer text, tool
// name and tool arguments, and as the system prompt) and asserts the
// finding invariants: no panic, known rules, scores in [0, 1], spans inside
// their segment.
func FuzzDetect(f *testing.F) {
	for _, c := range loadCases(f) {
		if c.Text != "" {
			f.Add(c.Text)
		}
		for _, s := range c.Segments {
			f.Add(s)
		}
	}
	f.Add("```\n`x` <a href='`'>[y](<z>) ![a][b]\n\n[b]: //h\\@e/x?d=" + testCanary)
	f.Add("<img/src=x/onerror=1 srcset=', ,' style='url(' >< <!-- [[[[(((( \\")
	d := newDetector(f, "allowed_link_hosts: [example.com]\nallowed_tools: [ok, \"mcp_*\"]\nleak_threshold: 0.3")
	f.Fuzz(func(t *testing.T, text string) {
		in := &pipeline.Input{Direction: pipeline.Response, Segments: []pipeline.Segment{
			{Text: text},
			{Text: text, Kind: pipeline.KindToolName},
			{Text: text, Kind: pipeline.KindToolArgs},
		}, Exchange: &pipeline.Exchange{Canary: testCanary, System: []string{text, "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty " + text}}}
		withViews(in)
		fs, err := d.Detect(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		checkFindings(t, in, fs)
		// Without views the detector reads the raw text.
		in.Views = nil
		fs, err = d.Detect(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		checkFindings(t, in, fs)
	})
}
