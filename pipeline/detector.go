package pipeline

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"gopkg.in/yaml.v3"
)

// Detector is one detector family, configured for one policy. Detect must be
// safe for concurrent use, must not keep references to in after it returns,
// and should check ctx in long loops. A returned error fails the transaction
// closed.
type Detector interface {
	Family() string
	Detect(ctx context.Context, in *Input) ([]Finding, error)
}

// Isolated is implemented by detectors that may block on something outside
// this process's control (a WASM module, a model server). They run on their
// own goroutine so that the budget holds even if they ignore ctx; all other
// detectors run inline and must return promptly (check ctx in long loops).
type Isolated interface {
	Isolated() bool
}

// ViewUser is implemented by detectors that read Input.Views; the engine
// normalizes the segments once, before the first detector that reports it
// will read them for this direction.
type ViewUser interface {
	UsesViews(dir Direction) bool
}

// Normalizer turns a segment's text into its View. The engine is given
// one with WithNormalizer (detectors/normalize.Normalize; detectors/all
// EngineOptions wires it); without one each view is the text as written.
type Normalizer func(text string) View

// BodySizeChecker is implemented by detectors that bound the raw body size;
// the transport calls it before decoding, so an oversize body is refused
// without being parsed.
type BodySizeChecker interface {
	CheckBodySize(dir Direction, n int) []Finding
}

// Factory builds a detector from its policy section. node is nil when the
// policy gives no options; factories must reject unknown keys.
type Factory func(node *yaml.Node) (Detector, error)

var (
	registryMu sync.RWMutex
	registry   = map[string]Factory{}
)

// Register makes a detector family available to policies. It is called from
// the init of each detectors/<family> package and panics on duplicates.
func Register(family string, f Factory) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if _, dup := registry[family]; dup {
		panic(fmt.Sprintf("pipeline: detector family %q registered twice", family))
	}
	registry[family] = f
}

func factory(family string) (Factory, bool) {
	registryMu.RLock()
	defer registryMu.RUnlock()
	f, ok := registry[family]
	return f, ok
}

// Families lists the registered detector families, sorted.
func Families() []string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	out := make([]string, 0, len(registry))
	for k := range registry {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
