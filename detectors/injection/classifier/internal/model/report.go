package model

// Report is the trainer's validation report, embedded beside the weights.
// encoding/json writes map keys sorted, so the same data gives the same bytes.
type Report struct {
	// DataHash is the hex SHA-256 in the model header; the classifier
	// refuses a report that does not belong to its weights.
	DataHash      string      `json:"data_hash"`
	Training      TrainConfig `json:"training"`
	ThresholdUser float64     `json:"threshold_user"`
	ThresholdTool float64     `json:"threshold_tool"`
	// ThresholdRule says how the thresholds were chosen.
	ThresholdRule string `json:"threshold_rule"`
	// DocumentSources are the source keys whose benign rows are documents
	// (the tool threshold's second constraint, and the negatives for
	// injections scored as tool results).
	DocumentSources []string   `json:"document_sources"`
	Validation      Validation `json:"validation"`
	Sources         []Source   `json:"sources"`
	Excluded        []Source   `json:"excluded"`
}

// TrainConfig is every setting that changes the weights.
type TrainConfig struct {
	Features     Config  `json:"features"`
	Normalizer   string  `json:"normalizer"`
	Lambda       float64 `json:"l2_lambda"`
	SourceCap    float64 `json:"source_cap"`
	Iterations   int     `json:"lbfgs_iterations"`
	ClassBalance bool    `json:"class_balance"`
	// Augment: composed rows per label (attacks and benign requests placed
	// inside benign documents), with AugmentCap rows' worth of weight per
	// label; 0 = none. See the trainer's augment.go.
	Augment    int     `json:"augment,omitempty"`
	AugmentCap float64 `json:"augment_cap,omitempty"`
	// Semantic: gain of the mean static token embedding (package
	// detectors/internal/semantic) beside the n-grams; 0 = none.
	// SemanticTable names the table it was distilled into.
	Semantic      float64 `json:"semantic,omitempty"`
	SemanticTable string  `json:"semantic_table,omitempty"`
	// LangBias: value of one training-only feature per language (its
	// weight absorbs the language's class prior and is not shipped); 0 = none.
	LangBias float64 `json:"lang_bias,omitempty"`
}

// Validation holds the pooled out-of-fold results.
type Validation struct {
	Protocol string `json:"protocol"`
	Folds    []Fold `json:"folds"`
	// AUC of attacks against all benign and benign_hard rows, and against
	// benign_hard alone.
	AUC           float64        `json:"auc"`
	AUCBenignHard float64        `json:"auc_benign_hard"`
	User          OperatingPoint `json:"user"`
	Tool          OperatingPoint `json:"tool"`
}

// Fold is one held-out group of source keys.
type Fold struct {
	Name    string   `json:"name"`
	Sources []string `json:"sources"`
	Attacks int      `json:"attacks"`
	Benign  int      `json:"benign"`
	// The thresholds the fold's rows are judged at: the threshold rule on
	// the other folds' out-of-fold scores.
	ThresholdUser float64 `json:"threshold_user"`
	ThresholdTool float64 `json:"threshold_tool"`
}

// OperatingPoint is the held-out behaviour at one threshold rule:
// Threshold is the shipped threshold; each fold's rows were judged at the
// fold's own (Fold.ThresholdUser / ThresholdTool).
type OperatingPoint struct {
	Threshold      float64 `json:"threshold"`
	Recall         float64 `json:"recall"`
	FPRBenign      float64 `json:"fpr_benign"`
	FPRBenignHard  float64 `json:"fpr_benign_hard"`
	FPRDocuments   float64 `json:"fpr_benign_documents"`
	FPRSourceMacro float64 `json:"fpr_benign_source_macro"`
	// RecallByCategory covers attack categories; FPR by source for benign.
	RecallByCategory map[string]float64 `json:"recall_by_category"`
	BySource         []SourceRate       `json:"by_source"`
}

// SourceRate is recall (attack rows) or false-positive rate (benign rows)
// of one source key and label.
type SourceRate struct {
	Source string  `json:"source"`
	Label  string  `json:"label"`
	Rows   int     `json:"rows"`
	Rate   float64 `json:"rate"`
}

// Source is a source key's row counts.
type Source struct {
	Key        string         `json:"key"`
	Repository string         `json:"repository"`
	Rows       int            `json:"rows"`
	ByCategory map[string]int `json:"by_category"`
	Reason     string         `json:"reason,omitempty"`
}
