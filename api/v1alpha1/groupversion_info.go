// Package v1alpha1 holds the fulfillment.dev/v1alpha1 API: WebhookEndpoint (how a platform calls in) and
// IntentRoute (what to do for an intent, action, tag or event).
//
// +kubebuilder:object:generate=true
// +groupName=fulfillment.dev
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var (
	// GroupVersion is the group and version of every kind in this package.
	GroupVersion = schema.GroupVersion{Group: "fulfillment.dev", Version: "v1alpha1"}

	// SchemeBuilder registers the kinds of this package with a runtime.Scheme. The package depends only on
	// apimachinery (and apiextensions for free-form JSON), so that clients can import it cheaply.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)

	// AddToScheme adds the kinds of this package to a runtime.Scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

func addKnownTypes(scheme *runtime.Scheme) error {
	scheme.AddKnownTypes(GroupVersion,
		&WebhookEndpoint{}, &WebhookEndpointList{},
		&IntentRoute{}, &IntentRouteList{},
		&WebhookGateway{}, &WebhookGatewayList{},
	)
	metav1.AddToGroupVersion(scheme, GroupVersion)
	return nil
}
