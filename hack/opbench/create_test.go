package opbench

import (
	"context"
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
)

// createAll creates the namespaces (with a gateway each when the scenario has gateways), then for each endpoint
// its basic-auth Secret, the endpoint and its routes.
func createAll(ctx context.Context, c client.Client, s scenario) error {
	for i := range s.namespaces() {
		namespace := fmt.Sprintf("opbench-%02d", i)
		if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}); err != nil {
			return err
		}
		if s.gateways == 0 {
			continue
		}
		gateway := &fulfillmentv1alpha1.WebhookGateway{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: gatewayName}}
		if err := c.Create(ctx, gateway); err != nil {
			return err
		}
	}
	work := make(chan int)
	errs := make(chan error, creationWorkers)
	var wg sync.WaitGroup
	for range creationWorkers {
		wg.Go(func() {
			for i := range work {
				if err := createEndpoint(ctx, c, s, i); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	var err error
feed:
	for i := range s.endpoints {
		select {
		case work <- i:
		case err = <-errs:
			break feed
		}
	}
	close(work)
	wg.Wait()
	if err != nil {
		return err
	}
	select {
	case err = <-errs:
		return err
	default:
		return nil
	}
}

// gatewayName is the gateway of each namespace in a scenario with gateways.
const gatewayName = "shared"

func createEndpoint(ctx context.Context, c client.Client, s scenario, i int) error {
	ns, name := s.endpointName(i)
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name + "-basic"},
		StringData: map[string]string{"username": "dialogflow", "password": "s3cret-password"}}
	if err := c.Create(ctx, secret); err != nil {
		return err
	}
	endpoint := &fulfillmentv1alpha1.WebhookEndpoint{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: fulfillmentv1alpha1.WebhookEndpointSpec{
			Dialect: fulfillmentv1alpha1.DialectDialogflowES,
			Auth: fulfillmentv1alpha1.EndpointAuth{Basic: &fulfillmentv1alpha1.BasicAuth{
				SecretRef: fulfillmentv1alpha1.LocalObjectReference{Name: secret.Name}}},
			Fallback: &fulfillmentv1alpha1.Fallback{Text: "Sorry."},
		},
	}
	if s.gateways > 0 {
		endpoint.Spec.GatewayRef = &fulfillmentv1alpha1.LocalObjectReference{Name: gatewayName}
		endpoint.Spec.Path = "/bots/" + name
	}
	if err := c.Create(ctx, endpoint); err != nil {
		return err
	}
	for j := range s.routes {
		route := &fulfillmentv1alpha1.IntentRoute{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: routeName(name, j)},
			Spec: fulfillmentv1alpha1.IntentRouteSpec{
				EndpointRef: fulfillmentv1alpha1.LocalObjectReference{Name: name},
				Match:       fulfillmentv1alpha1.RouteMatch{Intents: []string{fmt.Sprintf("Intent%d", j)}},
				Respond:     &fulfillmentv1alpha1.RespondAction{Text: fmt.Sprintf("answer %d of %s", j, name)},
			},
		}
		if err := c.Create(ctx, route); err != nil {
			return err
		}
	}
	return nil
}
