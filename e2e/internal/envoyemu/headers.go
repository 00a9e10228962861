package envoyemu

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"golang.org/x/net/http/httpguts"
)

// header is one entry of an Envoy-style header map: lower-cased key, raw value.
type header struct {
	key   string
	value string
}

// headerMap keeps entries in order and allows repeated keys, like Envoy's
// HeaderMap (a repeated HTTP/1 header is one entry per line).
type headerMap []header

func (h headerMap) get(key string) (string, bool) {
	for _, e := range h {
		if e.key == key {
			return e.value, true
		}
	}
	return "", false
}

func (h headerMap) has(key string) bool {
	_, ok := h.get(key)
	return ok
}

func (h *headerMap) remove(key string) {
	out := (*h)[:0]
	for _, e := range *h {
		if e.key != key {
			out = append(out, e)
		}
	}
	*h = out
}

// set replaces every entry of key with one entry, kept at the first position.
func (h *headerMap) set(key, value string) {
	for i, e := range *h {
		if e.key == key {
			(*h)[i].value = value
			rest := (*h)[i+1:]
			kept := (*h)[:i+1]
			for _, r := range rest {
				if r.key != key {
					kept = append(kept, r)
				}
			}
			*h = kept
			return
		}
	}
	*h = append(*h, header{key, value})
}

func (h *headerMap) add(key, value string) { *h = append(*h, header{key, value}) }

func (h headerMap) clone() headerMap { return append(headerMap(nil), h...) }

// proto renders the map the way Envoy sends it with
// envoy.reloadable_features.send_header_raw_value on: key plus raw_value only
// (per Envoy source mutation_utils.cc headersToProto, not run).
func (h headerMap) proto() *corev3.HeaderMap {
	out := &corev3.HeaderMap{Headers: make([]*corev3.HeaderValue, 0, len(h))}
	for _, e := range h {
		out.Headers = append(out.Headers, &corev3.HeaderValue{Key: e.key, RawValue: []byte(e.value)})
	}
	return out
}

// hopByHop lists connection-specific headers the HTTP connection manager and
// codecs strip (per Envoy source connection_manager_utility.cc
// mutateRequestHeaders / cleanConnectionHeaders, not run).
var hopByHop = map[string]bool{
	"connection": true, "keep-alive": true, "proxy-connection": true,
	"transfer-encoding": true, "upgrade": true, "te": true,
}

// fromHTTP lower-cases net/http headers into entries, skipping hop-by-hop ones.
func fromHTTP(src http.Header) headerMap {
	var out headerMap
	for k, vs := range src {
		lk := strings.ToLower(k)
		if hopByHop[lk] {
			continue
		}
		for _, v := range vs {
			out = append(out, header{lk, v})
		}
	}
	return out
}

// errRejectedMutation is a mutation Envoy refuses with a local reply
// (status_on_error) rather than ignoring.
var errRejectedMutation = errors.New("rejected header mutation")

// routingHeaders may only change with mutation_rules.allow_all_routing
// (per Envoy source filters/common/mutation_rules/mutation_rules.cc
// getRoutingHeaders, not run); ":method" may also change under
// CONTINUE_AND_REPLACE (mutation_utils.cc handleCheckResult, not run).
var routingHeaders = map[string]bool{"host": true, ":authority": true, ":method": true, ":scheme": true}

// mutationAllowed applies the default HeaderMutationRules: routing headers and
// x-envoy-* are disallowed, and a disallowed change is silently ignored
// because disallow_is_error is false (per Envoy source mutation_rules.cc
// Checker::isAllowed, not run).
func mutationAllowed(name string, replacing bool) bool {
	if replacing && name == ":method" {
		return true
	}
	if routingHeaders[name] {
		return false
	}
	return !strings.HasPrefix(name, "x-envoy-")
}

// applyHeaderMutation applies m to h the way mutation_utils.cc
// applyHeaderMutations does (per Envoy source, not run). It returns how many
// entries were silently ignored, and an error wrapping errRejectedMutation
// when Envoy would fail the request instead.
func applyHeaderMutation(h *headerMap, m *extprocv3.HeaderMutation, replacing bool) (ignored int, err error) {
	if m == nil {
		return 0, nil
	}
	for _, name := range m.GetRemoveHeaders() {
		if !httpguts.ValidHeaderFieldName(strings.TrimPrefix(name, ":")) {
			return ignored, fmt.Errorf("%w: invalid character in remove_headers %q", errRejectedMutation, name)
		}
		name = strings.ToLower(name)
		// Pseudo-headers and host can never be removed (notes 1.5; mutation
		// rules treat them as system headers).
		if strings.HasPrefix(name, ":") || name == "host" || !mutationAllowed(name, replacing) {
			ignored++
			continue
		}
		h.remove(name)
	}
	for _, opt := range m.GetSetHeaders() {
		hv := opt.GetHeader()
		if hv == nil {
			continue
		}
		if hv.GetValue() != "" && len(hv.GetRawValue()) != 0 {
			return ignored, fmt.Errorf("%w: only one of value or raw_value in the HeaderValue message should be set (%q)", errRejectedMutation, hv.GetKey())
		}
		// send_header_raw_value is on: only raw_value is read, so a
		// value-only mutation sets an empty header (envoy#31555).
		value := string(hv.GetRawValue())
		name := strings.ToLower(hv.GetKey())
		if name == "" || !httpguts.ValidHeaderFieldName(strings.TrimPrefix(name, ":")) || !httpguts.ValidHeaderFieldValue(value) {
			return ignored, fmt.Errorf("%w: invalid character in set_headers %q", errRejectedMutation, hv.GetKey())
		}
		if !mutationAllowed(name, replacing) {
			ignored++
			continue
		}
		switch opt.GetAppendAction() {
		case corev3.HeaderValueOption_APPEND_IF_EXISTS_OR_ADD:
			// append_action zero value: fall back to the deprecated append
			// wrapper, which defaults to false (overwrite) here.
			//lint:ignore SA1019 Envoy still honours the deprecated append flag; the emulator must too.
			if opt.GetAppend().GetValue() {
				h.add(name, value)
			} else {
				h.set(name, value)
			}
		case corev3.HeaderValueOption_ADD_IF_ABSENT:
			if !h.has(name) {
				h.add(name, value)
			}
		case corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD:
			h.set(name, value)
		case corev3.HeaderValueOption_OVERWRITE_IF_EXISTS:
			if h.has(name) {
				h.set(name, value)
			}
		default:
			return ignored, fmt.Errorf("%w: invalid append_action for %q", errRejectedMutation, name)
		}
	}
	return ignored, nil
}
