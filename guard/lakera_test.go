package guard

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"reflect"
	"testing"
)

// goldenCase is one request/response pair of testdata/lakera_v2_golden.json,
// each taken from a fact of Lakera's public documentation or of a gateway
// integration's documented request (the about field says which).
type goldenCase struct {
	Name     string          `json:"name"`
	About    string          `json:"about"`
	Requires string          `json:"requires"`
	Request  json.RawMessage `json:"request"`
	Status   int             `json:"status"`
	Response map[string]any  `json:"response"`
	Absent   []string        `json:"absent"`
}

func TestGuardGolden(t *testing.T) {
	b, err := os.ReadFile("testdata/lakera_v2_golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []goldenCase
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, Config{}, nil)
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			if tc.Requires != "" && !hasFamily(tc.Requires) {
				t.Skipf("detector family %q is not registered in this build (detectors/all); the case runs once it is", tc.Requires)
			}
			resp, got := f.post(t, PathGuard, []byte(tc.Request))
			want := tc.Status
			if want == 0 {
				want = http.StatusOK
			}
			if resp.StatusCode != want {
				t.Fatalf("status %d, want %d: %v", resp.StatusCode, want, got)
			}
			if err := contains("", tc.Response, got); err != nil {
				pretty, _ := json.MarshalIndent(got, "", "  ")
				t.Fatalf("%v\nanswer: %s", err, pretty)
			}
			for _, k := range tc.Absent {
				if _, ok := got[k]; ok {
					t.Errorf("%s present, want absent", k)
				}
			}
			// Every answer carries what every Lakera client reads.
			if _, ok := got["flagged"].(bool); !ok {
				t.Error("flagged missing or not a boolean")
			}
			if _, ok := got["payload"].([]any); !ok {
				t.Error("payload missing or not an array")
			}
			if id, _ := got["metadata"].(map[string]any)["request_uuid"].(string); id == "" || id != resp.Header.Get(HeaderDecisionID) {
				t.Errorf("metadata.request_uuid %q, want the decision ID %q", id, resp.Header.Get(HeaderDecisionID))
			}
		})
	}
}

// contains checks that got holds everything in want: objects by key,
// arrays element by element (each wanted element matches some element; an
// empty wanted array wants an empty one), scalars by value.
func contains(path string, want, got any) error {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: got %T, want an object", path, got)
		}
		for k, wv := range w {
			gv, ok := g[k]
			if !ok {
				return fmt.Errorf("%s.%s: missing", path, k)
			}
			if err := contains(path+"."+k, wv, gv); err != nil {
				return err
			}
		}
	case []any:
		g, ok := got.([]any)
		if !ok {
			return fmt.Errorf("%s: got %T, want an array", path, got)
		}
		if len(w) == 0 && len(g) != 0 {
			return fmt.Errorf("%s: got %d elements, want none", path, len(g))
		}
		for i, wv := range w {
			found := false
			for _, gv := range g {
				if contains("", wv, gv) == nil {
					found = true
					break
				}
			}
			if !found {
				return fmt.Errorf("%s[%d]: no element matches %v", path, i, wv)
			}
		}
	default:
		if !reflect.DeepEqual(want, got) {
			return fmt.Errorf("%s: got %v, want %v", path, got, want)
		}
	}
	return nil
}
