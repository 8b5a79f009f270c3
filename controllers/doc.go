// Package controllers reconciles WebhookEndpoints and IntentRoutes into fulfillment Deployments. Each kind has
// its own file set: _controller.go reads, applies and records; _resources.go builds desired objects as pure
// functions; _status.go computes conditions as pure functions.
package controllers
