package controllers

import (
	"context"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// SecretChecker checks the content of referenced Secrets (CheckSecretKeys). Values are read uncached, through
// the API server, and never kept: only the verdict is, per Secret, resourceVersion and set of requirements, so
// that a Secret is read again only once it changed. One checker is shared by both reconcilers.
type SecretChecker struct {
	// Reader reads Secrets from the API server (the manager's APIReader): the manager's cache holds Secrets as
	// metadata only.
	Reader client.Reader

	mu       sync.Mutex
	verdicts map[types.NamespacedName]secretVerdicts
}

// secretVerdicts are the verdicts about one resourceVersion of a Secret, by requirementsSignature.
type secretVerdicts struct {
	resourceVersion string
	problems        map[string][]SecretKeyProblem
}

// Check returns the problems of Secret namespace/name against reqs (all on that Secret). resourceVersion is the
// one the caller saw in the metadata cache: a verdict about it is reused without a read. A Secret gone since
// the caller saw it gives no problem: the next reconcile (brought by the Secret watch) sees it missing.
func (c *SecretChecker) Check(ctx context.Context, namespace, name, resourceVersion string, reqs []SecretKeyRequirement) ([]SecretKeyProblem, error) {
	if len(reqs) == 0 {
		return nil, nil
	}
	key := types.NamespacedName{Namespace: namespace, Name: name}
	signature := requirementsSignature(reqs)
	c.mu.Lock()
	if v, ok := c.verdicts[key]; ok && resourceVersion != "" && v.resourceVersion == resourceVersion {
		if problems, ok := v.problems[signature]; ok {
			c.mu.Unlock()
			return problems, nil
		}
	}
	c.mu.Unlock()

	secret := &corev1.Secret{}
	if err := c.Reader.Get(ctx, key, secret); err != nil {
		return nil, client.IgnoreNotFound(err)
	}
	problems := CheckSecretKeys(reqs, secret.Data)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.verdicts == nil {
		c.verdicts = map[types.NamespacedName]secretVerdicts{}
	}
	v, ok := c.verdicts[key]
	if !ok || v.resourceVersion != secret.ResourceVersion {
		v = secretVerdicts{resourceVersion: secret.ResourceVersion, problems: map[string][]SecretKeyProblem{}}
	}
	v.problems[signature] = problems
	c.verdicts[key] = v
	return problems, nil
}

// Forget drops the verdicts about a Secret (it was deleted).
func (c *SecretChecker) Forget(namespace, name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.verdicts, types.NamespacedName{Namespace: namespace, Name: name})
}
