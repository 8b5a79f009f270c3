package controllers

// A gateway's pods read their members' Secrets from copies in one Secret of the gateway's, <gateway>-secrets,
// mounted once: a Secret volume per member would change the pod template, and so roll the gateway's pods, each
// time an endpoint joins or leaves. The copies follow the members' Secrets by resourceVersion, so a Secret is
// read again only when it changed. A Secret that does not fit (a key name too long once prefixed, or past what a
// Secret holds) is mounted on its own, as an endpoint's pods mount it.

import (
	"context"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/controller-runtime/pkg/client"

	fulfillmentv1alpha1 "github.com/fulfillment-dev/fulfillment-operator/api/v1alpha1"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/configfile"
)

// AnnotationSecretVersions on a gateway's Secret of copies lists the Secrets it copies as name=resourceVersion,
// sorted and comma-separated, with ":mounted" for one mounted on its own instead.
const AnnotationSecretVersions = "fulfillment.dev/secret-versions"

// maxSecretCopiesBytes is what the copies may hold: a Secret holds 1 MiB, less room for its metadata.
const maxSecretCopiesBytes = 1<<20 - 64<<10

// GatewaySecretsName is the gateway's Secret of copies of its members' Secrets.
func GatewaySecretsName(workload *fulfillmentv1alpha1.WebhookEndpoint) string {
	return workload.Name + "-secrets"
}

// SecretSnapshot is a member's Secret as copied: its name, resourceVersion and data.
type SecretSnapshot struct {
	Name, Version string
	Data          map[string][]byte
}

// SecretCopies is what a gateway's Secret of copies holds, and the Secrets mounted on their own.
type SecretCopies struct {
	Data     map[string][]byte
	Versions string
	Mounted  []string
}

// CopySecrets lays the Secrets out as copies, in name order, each key at configfile.SecretCopyKey. A Secret goes
// whole or not at all: one with a key whose copy's name is not a valid key, or that would take the copies past
// maxSecretCopiesBytes, is mounted on its own.
func CopySecrets(secrets []SecretSnapshot) SecretCopies {
	ordered := slices.Clone(secrets)
	slices.SortFunc(ordered, func(a, b SecretSnapshot) int { return strings.Compare(a.Name, b.Name) })
	out := SecretCopies{Data: map[string][]byte{}}
	versions := make([]string, 0, len(ordered))
	size := 0
	for _, secret := range ordered {
		if copied, bytes, ok := copyKeys(secret); ok && size+bytes <= maxSecretCopiesBytes {
			for key, value := range copied {
				out.Data[key] = value
			}
			size += bytes
			versions = append(versions, secret.Name+"="+secret.Version)
			continue
		}
		out.Mounted = append(out.Mounted, secret.Name)
		versions = append(versions, secret.Name+"="+secret.Version+":mounted")
	}
	out.Versions = strings.Join(versions, ",")
	return out
}

// copyKeys are a Secret's keys as copies, and their size; false when a copy's name is not a valid Secret key.
func copyKeys(secret SecretSnapshot) (map[string][]byte, int, bool) {
	copied := make(map[string][]byte, len(secret.Data))
	size := 0
	for key, value := range secret.Data {
		name := configfile.SecretCopyKey(secret.Name, key)
		if len(validation.IsConfigMapKey(name)) > 0 {
			return nil, 0, false
		}
		copied[name] = value
		size += len(name) + len(value)
	}
	return copied, size, true
}

// DesiredGatewaySecrets is the gateway's Secret of copies.
func DesiredGatewaySecrets(workload *fulfillmentv1alpha1.WebhookEndpoint, copies SecretCopies) *corev1.Secret {
	secret := &corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: objectMeta(workload, GatewaySecretsName(workload)),
		Type:       corev1.SecretTypeOpaque,
		Data:       copies.Data,
	}
	secret.Annotations = map[string]string{AnnotationSecretVersions: copies.Versions}
	return secret
}

// parseSecretVersions reads AnnotationSecretVersions: name -> version, and which are mounted on their own.
func parseSecretVersions(value string) (map[string]string, map[string]bool) {
	versions, mounted := map[string]string{}, map[string]bool{}
	for _, item := range strings.Split(value, ",") {
		name, version, ok := strings.Cut(item, "=")
		if !ok {
			continue
		}
		if v, isMounted := strings.CutSuffix(version, ":mounted"); isMounted {
			version, mounted[name] = v, true
		}
		versions[name] = version
	}
	return versions, mounted
}

// applySecretCopies brings the gateway's Secret of copies up to date with the Secrets its members reference and
// returns those mounted on their own. Only a Secret whose resourceVersion differs from the one copied is read;
// a Secret that does not exist is neither copied nor mounted (its endpoint reports it, and is not served).
func (r *WebhookGatewayReconciler) applySecretCopies(ctx context.Context, workload *fulfillmentv1alpha1.WebhookEndpoint, names []string) ([]string, error) {
	e := r.Endpoints
	current := make([]SecretSnapshot, 0, len(names))
	for _, name := range names {
		meta := secretMetadata(workload.Namespace, name)
		if err := e.cache().Get(ctx, client.ObjectKeyFromObject(meta), meta); err != nil {
			if apierrors.IsNotFound(err) {
				continue
			}
			return nil, fmt.Errorf("reading Secret %s: %w", name, err)
		}
		current = append(current, SecretSnapshot{Name: name, Version: meta.ResourceVersion})
	}
	copiesMeta := secretMetadata(workload.Namespace, GatewaySecretsName(workload))
	var copied map[string]string
	var mounted map[string]bool
	err := e.cache().Get(ctx, client.ObjectKeyFromObject(copiesMeta), copiesMeta)
	switch {
	case err == nil:
		copied, mounted = parseSecretVersions(copiesMeta.Annotations[AnnotationSecretVersions])
	case !apierrors.IsNotFound(err):
		return nil, fmt.Errorf("reading Secret %s: %w", copiesMeta.Name, err)
	}
	if err == nil && upToDate(current, copied) {
		var names []string
		for _, secret := range current {
			if mounted[secret.Name] {
				names = append(names, secret.Name)
			}
		}
		return names, nil
	}
	var previous *corev1.Secret
	for i := range current {
		secret := &current[i]
		if copied[secret.Name] == secret.Version && !mounted[secret.Name] {
			if previous == nil {
				previous = &corev1.Secret{}
				if err := e.APIReader.Get(ctx, client.ObjectKeyFromObject(copiesMeta), previous); client.IgnoreNotFound(err) != nil {
					return nil, fmt.Errorf("reading Secret %s: %w", copiesMeta.Name, err)
				}
			}
			if data, ok := copiedData(previous.Data, secret.Name); ok {
				secret.Data = data
				continue
			}
		}
		fresh := &corev1.Secret{}
		if err := e.APIReader.Get(ctx, types.NamespacedName{Namespace: workload.Namespace, Name: secret.Name}, fresh); err != nil {
			if apierrors.IsNotFound(err) {
				secret.Data = nil
				continue
			}
			return nil, fmt.Errorf("reading Secret %s: %w", secret.Name, err)
		}
		secret.Version, secret.Data = fresh.ResourceVersion, fresh.Data
	}
	copies := CopySecrets(current)
	if err := e.applyStep(ctx, DesiredGatewaySecrets(workload, copies)); err != nil {
		return nil, err
	}
	return copies.Mounted, nil
}

// upToDate tells whether the copies hold exactly the current versions of the Secrets: nothing to read or write.
func upToDate(current []SecretSnapshot, copied map[string]string) bool {
	if len(current) != len(copied) {
		return false
	}
	for _, secret := range current {
		if version, ok := copied[secret.Name]; !ok || version != secret.Version {
			return false
		}
	}
	return true
}

// copiedData is a Secret's data as the copies hold it, back under its own keys; false when none is there.
func copiedData(copies map[string][]byte, name string) (map[string][]byte, bool) {
	prefix := configfile.SecretCopyKey(name, "")
	data := map[string][]byte{}
	for key, value := range copies {
		if own, ok := strings.CutPrefix(key, prefix); ok {
			data[own] = value
		}
	}
	return data, len(data) > 0
}

func secretMetadata(namespace, name string) *metav1.PartialObjectMetadata {
	return &metav1.PartialObjectMetadata{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}}
}
