package envoyemu

import (
	"maps"
	"slices"
	"sync/atomic"
)

// Stats mirrors the ext_proc filter's counters under
// http.<stat_prefix>.ext_proc. (per Envoy source ext_proc.h ALL_EXT_PROC_FILTER_STATS,
// not run) plus a few of the emulator's own.
type Stats struct {
	Requests                      int64 // downstream requests (emulator's own)
	StreamsStarted                int64 // streams_started
	MsgsSent                      int64 // stream_msgs_sent
	MsgsReceived                  int64 // stream_msgs_received
	SpuriousMsgsReceived          int64 // spurious_msgs_received
	StreamsFailed                 int64 // streams_failed (gRPC error or could not open)
	MessageTimeouts               int64 // message_timeouts
	FailOpen                      int64 // streams the server closed with OK before the last reply: the transaction went on unprocessed
	ImmediateResponses            int64 // immediate_response replies received
	LocalErrorReplies             int64 // local replies for filter errors (timeout, gRPC error, spurious, rejected mutation)
	RejectedHeaderMutations       int64 // rejected_header_mutations (ignored or refused)
	OverrideMessageTimeoutIgnored int64 // override_message_timeout_ignored
	DroppedMetadataNamespaces     int64 // dynamic_metadata namespaces not in receiving_namespaces
	UpstreamRequests              int64 // requests the router sent upstream (emulator's own)
	ModeOverridesIgnored          int64 // mode_override replies not applied (not allowed, or not an admitted mode)
}

type counters struct {
	requests, streamsStarted, msgsSent, msgsReceived, spuriousMsgsReceived atomic.Int64
	streamsFailed, messageTimeouts, failOpen, immediateResponses           atomic.Int64
	localErrorReplies, rejectedHeaderMutations                             atomic.Int64
	overrideMessageTimeoutIgnored, droppedMetadataNamespaces               atomic.Int64
	upstreamRequests, modeOverridesIgnored                                 atomic.Int64
}

func (c *counters) snapshot() Stats {
	return Stats{
		Requests:                      c.requests.Load(),
		StreamsStarted:                c.streamsStarted.Load(),
		MsgsSent:                      c.msgsSent.Load(),
		MsgsReceived:                  c.msgsReceived.Load(),
		SpuriousMsgsReceived:          c.spuriousMsgsReceived.Load(),
		StreamsFailed:                 c.streamsFailed.Load(),
		MessageTimeouts:               c.messageTimeouts.Load(),
		FailOpen:                      c.failOpen.Load(),
		ImmediateResponses:            c.immediateResponses.Load(),
		LocalErrorReplies:             c.localErrorReplies.Load(),
		RejectedHeaderMutations:       c.rejectedHeaderMutations.Load(),
		OverrideMessageTimeoutIgnored: c.overrideMessageTimeoutIgnored.Load(),
		DroppedMetadataNamespaces:     c.droppedMetadataNamespaces.Load(),
		UpstreamRequests:              c.upstreamRequests.Load(),
		ModeOverridesIgnored:          c.modeOverridesIgnored.Load(),
	}
}

// Outcome says how a transaction ended.
type Outcome string

const (
	OutcomeForwarded         Outcome = "forwarded"          // went through ext_proc (possibly mutated) to the upstream and back
	OutcomeImmediateResponse Outcome = "immediate_response" // the server answered with a local reply
	OutcomeLocalReplyError   Outcome = "local_reply_error"  // the filter failed closed (timeout, gRPC error, spurious, rejected mutation)
	OutcomeFailOpen          Outcome = "fail_open"          // the server closed the stream with OK early; the rest went through unprocessed
	OutcomeDownstreamReset   Outcome = "downstream_reset"   // the client went away
	OutcomeStreamReset       Outcome = "stream_reset"       // a STREAMED response failed after its headers went out: the stream was reset
)

// Record is what the emulator saw of one transaction.
type Record struct {
	ID             string
	Route          string
	Outcome        Outcome
	Status         int    // status sent downstream
	Phase          string // message answered by the immediate response or failing the filter
	Details        string // %RESPONSE_CODE_DETAILS% of a local reply
	GRPCStatus     string // code of a failed stream
	Messages       []string
	UpstreamCalled bool
	UpstreamError  string
	FailOpen       bool   // the server closed the stream with OK before the last reply
	FailOpenPhase  string // message left unanswered when it did
	Streamed       bool   // the response body was switched to STREAMED by mode_override
	// DynamicMetadata is namespace → key → value, from replies, filtered by
	// receiving_namespaces.
	DynamicMetadata map[string]map[string]any
	// MetadataUpdates lists each accepted dynamic_metadata namespace update in
	// arrival order, with the message it answered.
	MetadataUpdates []MetadataUpdate
}

// MetadataUpdate is one reply's dynamic metadata for one namespace.
type MetadataUpdate struct {
	Phase     string
	Namespace string
	Values    map[string]any
}

// Metadata returns one dynamic-metadata value.
func (r Record) Metadata(namespace, key string) (any, bool) {
	v, ok := r.DynamicMetadata[namespace][key]
	return v, ok
}

func (r *Record) clone() Record {
	c := *r
	c.Messages = slices.Clone(r.Messages)
	c.MetadataUpdates = slices.Clone(r.MetadataUpdates)
	if r.DynamicMetadata != nil {
		c.DynamicMetadata = make(map[string]map[string]any, len(r.DynamicMetadata))
		for ns, m := range r.DynamicMetadata {
			c.DynamicMetadata[ns] = maps.Clone(m)
		}
	}
	return c
}
