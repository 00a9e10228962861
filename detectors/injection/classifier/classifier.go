package classifier

import (
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/llm-firewall/llm-firewall/detectors/injection/classifier/internal/model"
)

//go:embed model.bin
var modelBin []byte

//go:embed report.json
var reportJSON []byte

// Report is the trainer's held-out validation report (see report.json).
type Report = model.Report

var (
	// Metrics is the held-out validation report of the embedded model.
	Metrics Report
	// ThresholdUser flags user turns: chosen on pooled out-of-fold scores
	// for <= 1% false positives on benign and <= 5% on benign_hard.
	ThresholdUser float64
	// ThresholdTool flags tool results and retrieved documents. It is lower
	// (stricter) than ThresholdUser: indirect injections hide in data, and
	// it was chosen for <= 2% false positives on benign text and documents.
	ThresholdTool float64

	embedded *model.Model
)

func init() {
	m, rep, err := load(modelBin, reportJSON)
	if err != nil {
		panic(fmt.Sprintf("detectors/injection/classifier: embedded model unusable (%v); regenerate it with `make train`", err))
	}
	embedded, Metrics = m, rep
	ThresholdUser, ThresholdTool = rep.ThresholdUser, rep.ThresholdTool
}

// load decodes a model and its report and checks that they belong together.
func load(bin, reportData []byte) (*model.Model, Report, error) {
	var rep Report
	m, err := model.Decode(bin)
	if err != nil {
		return nil, rep, fmt.Errorf("model.bin: %w", err)
	}
	if err := json.Unmarshal(reportData, &rep); err != nil {
		return nil, rep, fmt.Errorf("report.json: %w", err)
	}
	if h := hex.EncodeToString(m.DataHash[:]); rep.DataHash != h {
		return nil, rep, fmt.Errorf("report.json is for data hash %.12s, model.bin for %.12s", rep.DataHash, h)
	}
	if !(rep.ThresholdTool > 0 && rep.ThresholdTool <= rep.ThresholdUser && rep.ThresholdUser < 1) {
		return nil, rep, fmt.Errorf("report.json: thresholds user %v, tool %v out of order", rep.ThresholdUser, rep.ThresholdTool)
	}
	return m, rep, nil
}

// Score returns P(attack) in [0, 1] for text that is already normalized
// (normalize.Normalize(text).Text). Long texts are scored on their first
// and last 8 KiB. Safe for concurrent use; does not allocate in steady state.
func Score(text string) float64 {
	return embedded.Score(text)
}

// Threshold returns the flagging threshold for text of the given provenance:
// ThresholdTool for tool results and documents, ThresholdUser otherwise.
func Threshold(untrusted bool) float64 {
	if untrusted {
		return ThresholdTool
	}
	return ThresholdUser
}

// DataHash identifies the training data and configuration of the embedded
// model (hex SHA-256), for audit logs and provenance.
func DataHash() string { return Metrics.DataHash }
