package content

import (
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/llm-firewall/llm-firewall/detectors/content/internal/model"
)

//go:embed model.bin
var modelBin []byte

//go:embed report.json
var reportJSON []byte

// ClassifierReport is the trainer's report on the embedded model.
type ClassifierReport struct {
	DataHash         string  `json:"data_hash"`
	Rows             int     `json:"rows"`
	ThresholdDefault float64 `json:"threshold_default"`
	ThresholdStrict  float64 `json:"threshold_strict"`
}

var (
	clf       *model.Model
	clfReport ClassifierReport
)

func init() {
	if err := LoadModel(modelBin, reportJSON); err != nil {
		panic(fmt.Sprintf("detectors/content: embedded model unusable (%v); regenerate it with go run ./detectors/content/train", err))
	}
}

// LoadModel replaces the classifier, for evaluating a model trained with
// held-out sources (eval -model). Not safe to call while detecting.
func LoadModel(bin, reportData []byte) error {
	m, err := model.Decode(bin)
	if err != nil {
		return fmt.Errorf("model: %w", err)
	}
	var rep ClassifierReport
	if err := json.Unmarshal(reportData, &rep); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if h := hex.EncodeToString(m.DataHash[:]); rep.DataHash != h {
		return fmt.Errorf("report is for data hash %.12s, model for %.12s", rep.DataHash, h)
	}
	if !(rep.ThresholdStrict > 0 && rep.ThresholdStrict < rep.ThresholdDefault && rep.ThresholdDefault < 1) {
		return fmt.Errorf("report: thresholds strict %v, default %v out of order", rep.ThresholdStrict, rep.ThresholdDefault)
	}
	clf, clfReport = m, rep
	return nil
}

// ModelReport returns the embedded classifier's report.
func ModelReport() ClassifierReport { return clfReport }
