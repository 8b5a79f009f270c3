package opbench

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// markedNode is the node the marked pods are bound to: no kubelet runs it.
const markedNode = "opbench-marked"

// podMarker stands in for the kubelet when the pods are not run (OPBENCH_PODS=ready): it binds each Pending pod
// to a node of its own (not the dev cluster's, whose local kubelet would run it) and writes a running, Ready
// status, as a kubelet would once the containers pass their readiness probes. The ReplicaSet and Deployment
// controllers then count the pods as they count real ones.
type podMarker struct {
	client kubernetes.Interface
	// next is the last octets of the next pod address: each pod gets its own, as on a pod network.
	next int
}

func (m *podMarker) run(ctx context.Context) {
	for ctx.Err() == nil {
		pods, err := m.client.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
		if err == nil {
			for i := range pods.Items {
				m.mark(ctx, &pods.Items[i])
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

func (m *podMarker) mark(ctx context.Context, pod *corev1.Pod) {
	if pod.DeletionTimestamp != nil || pod.Status.Phase == corev1.PodRunning {
		return
	}
	if pod.Spec.NodeName == "" {
		binding := &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID},
			Target: corev1.ObjectReference{Kind: "Node", Name: markedNode}}
		if err := m.client.CoreV1().Pods(pod.Namespace).Bind(ctx, binding, metav1.CreateOptions{}); err != nil {
			return
		}
	}
	m.next++
	ip := fmt.Sprintf("10.244.%d.%d", m.next/250, m.next%250+1)
	now := metav1.Now()
	status := corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}}, StartTime: &now,
		HostIP: "127.0.0.1", HostIPs: []corev1.HostIP{{IP: "127.0.0.1"}}}
	for _, condition := range []corev1.PodConditionType{corev1.PodScheduled, corev1.PodInitialized, corev1.ContainersReady, corev1.PodReady} {
		status.Conditions = append(status.Conditions, corev1.PodCondition{Type: condition, Status: corev1.ConditionTrue, LastTransitionTime: now})
	}
	for _, container := range pod.Spec.Containers {
		status.ContainerStatuses = append(status.ContainerStatuses, corev1.ContainerStatus{Name: container.Name, Image: container.Image,
			Ready: true, Started: new(true), State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}}})
	}
	fresh, err := m.client.CoreV1().Pods(pod.Namespace).Get(ctx, pod.Name, metav1.GetOptions{})
	if err != nil {
		return
	}
	fresh.Status = status
	_, _ = m.client.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, fresh, metav1.UpdateOptions{})
}
