package envoy_test

// Every "@type" referenced by envoy.yaml and istio/envoyfilter.yaml must be in
// protoregistry.GlobalTypes, or protojson refuses the config with
// `unable to resolve "type.googleapis.com/..."`. Importing the bootstrap
// package does not pull extensions in; list them here. A new @type in the
// YAML fails the tests until it is added (which also catches @type typos).
import (
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/access_loggers/file/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/access_loggers/stream/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
)
