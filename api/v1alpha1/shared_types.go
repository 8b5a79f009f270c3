package v1alpha1

import (
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
)

// LocalObjectReference names an object in the same namespace.
type LocalObjectReference struct {
	// name of the object, in the same namespace.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Name string `json:"name"`
}

// SecretKeySelector selects one key of a Secret in the same namespace.
type SecretKeySelector struct {
	// name of the Secret, in the same namespace.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Name string `json:"name"`

	// key inside the Secret's data whose value is used.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
	Key string `json:"key"`
}

// Fallback is the reply when no route answers: a chatbot must always say something, so a fallback is answered
// with HTTP 200 and a Fulfillment-Fallback header naming why (no_route, action_failed, deadline, answer_invalid).
// When no route matches, Rasa gets its own 404 unknown-action error instead, as from the Rasa SDK, so that its
// policies pick another action.
// +kubebuilder:validation:XValidation:rule="has(self.text) || has(self.payload)",message="fallback needs text or payload (or both)"
type Fallback struct {
	// text is the reply shown to the user. It is a template: ${expr} is replaced by the value of the CEL expression
	// expr, for example "Sorry ${request.parameters.name}, please try again later.".
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=4096
	Text string `json:"text,omitempty"`

	// payload is a free-form JSON object returned as the dialect's custom payload (Dialogflow `payload`, Rasa
	// `custom`, Generic `payload`). String values are templates.
	// +optional
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:validation:Type=object
	Payload *apiextensionsv1.JSON `json:"payload,omitempty"`
}
