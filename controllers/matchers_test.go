package controllers_test

import (
	"github.com/onsi/gomega/gcustom"
	"github.com/onsi/gomega/types"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/controllers"
)

// The suite's own matchers say what failed with the state that decided it, where a boolean would only say
// "expected false to be true".

// beReady succeeds for a WebhookEndpoint that is Ready at its generation (controllers.EndpointIsReady); a
// failure shows the endpoint's status.
func beReady() types.GomegaMatcher {
	return gcustom.MakeMatcher(func(endpoint *fulfillmentv1alpha1.WebhookEndpoint) (bool, error) {
		return controllers.EndpointIsReady(endpoint), nil
	}).WithTemplate("Expected WebhookEndpoint {{.Actual.Namespace}}/{{.Actual.Name}} {{.To}} be Ready at its " +
		"generation {{.Actual.Generation}}; its status:\n{{format .Actual.Status 1}}")
}

// beControlledBy succeeds for an object whose controller owner reference points to owner; a failure shows the
// object's owner references.
func beControlledBy(owner metav1.Object) types.GomegaMatcher {
	return gcustom.MakeMatcher(func(object metav1.Object) (bool, error) {
		return metav1.IsControlledBy(object, owner), nil
	}).WithTemplate("Expected {{.Actual.GetNamespace}}/{{.Actual.GetName}} {{.To}} be controlled by {{.Data.GetName}} "+
		"(uid {{.Data.GetUID}}); its owner references:\n{{format .Actual.GetOwnerReferences 1}}", owner)
}

// beNotFound succeeds for an API error that says the object does not exist.
func beNotFound() types.GomegaMatcher {
	return gcustom.MakeMatcher(func(err error) (bool, error) {
		return apierrors.IsNotFound(err), nil
	}).WithMessage("be a NotFound error")
}
