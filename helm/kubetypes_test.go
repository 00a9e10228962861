package helm_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
)

// kubeTypes maps apiVersion/kind to the Kubernetes API type a rendered
// manifest must decode into strictly.
var kubeTypes = map[string]func() any{
	"apps/v1/Deployment":                       func() any { return &appsv1.Deployment{} },
	"v1/Service":                               func() any { return &corev1.Service{} },
	"v1/ConfigMap":                             func() any { return &corev1.ConfigMap{} },
	"v1/ServiceAccount":                        func() any { return &corev1.ServiceAccount{} },
	"v1/Secret":                                func() any { return &corev1.Secret{} },
	"autoscaling/v2/HorizontalPodAutoscaler":   func() any { return &autoscalingv2.HorizontalPodAutoscaler{} },
	"policy/v1/PodDisruptionBudget":            func() any { return &policyv1.PodDisruptionBudget{} },
	"networking.k8s.io/v1/NetworkPolicy":       func() any { return &networkingv1.NetworkPolicy{} },
	"rbac.authorization.k8s.io/v1/Role":        func() any { return &rbacv1.Role{} },
	"rbac.authorization.k8s.io/v1/RoleBinding": func() any { return &rbacv1.RoleBinding{} },
}

// customKinds are resources of other projects' APIs (Prometheus Operator,
// Istio, Envoy Gateway); their own tests check them field by field.
var customKinds = map[string]bool{
	"monitoring.coreos.com/v1/ServiceMonitor":             true,
	"networking.istio.io/v1alpha3/EnvoyFilter":            true,
	"gateway.envoyproxy.io/v1alpha1/EnvoyExtensionPolicy": true,
}

// decodeStrict decodes a rendered manifest into its Kubernetes API type,
// refusing any field the type does not have (a typo such as
// `readinesProbe` that kubectl apply would silently drop).
func decodeStrict(o object) error {
	api, _ := o["apiVersion"].(string)
	kind, _ := o["kind"].(string)
	key := api + "/" + kind
	if customKinds[key] {
		return nil
	}
	newT, ok := kubeTypes[key]
	if !ok {
		return fmt.Errorf("%s: no Kubernetes API type to check it against (add it to kubeTypes)", key)
	}
	b, err := json.Marshal(o)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(newT()); err != nil {
		return fmt.Errorf("%s %v: %w", key, dig(o, "metadata", "name"), err)
	}
	return nil
}

func TestDecodeStrictCatchesTypos(t *testing.T) {
	good := object{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": map[string]any{"name": "x"},
		"spec": map[string]any{"template": map[string]any{"spec": map[string]any{"containers": []any{
			map[string]any{"name": "c", "readinessProbe": map[string]any{"grpc": map[string]any{"port": 50051}}}}}}}}
	if err := decodeStrict(good); err != nil {
		t.Fatalf("valid Deployment refused: %v", err)
	}
	bad := object{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": map[string]any{"name": "x"},
		"spec": map[string]any{"template": map[string]any{"spec": map[string]any{"containers": []any{
			map[string]any{"name": "c", "readinesProbe": map[string]any{}}}}}}}
	if err := decodeStrict(bad); err == nil || !strings.Contains(err.Error(), "readinesProbe") {
		t.Fatalf("typo accepted: %v", err)
	}
	if err := decodeStrict(object{"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": "p"}}); err == nil {
		t.Fatal("a kind without a typed check passed silently")
	}
}
