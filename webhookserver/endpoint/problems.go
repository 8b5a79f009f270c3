package endpoint

import (
	"errors"
	"slices"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/config"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/configfile"
	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/routespec"
)

// problems collects what is wrong with one endpoint and its routes, each located at the file and document its
// object was read from, so that a user edits the right one whatever stage found it.
type problems struct {
	namespace string
	found     []config.Problem
}

// add records err at field of the object kind name read at. A joined error is one problem per error, and an
// action's FieldError names its own field.
func (p *problems) add(at configfile.Location, kind, name, field string, err error) {
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		for _, each := range joined.Unwrap() {
			p.add(at, kind, name, field, each)
		}
		return
	}
	var fieldErr *routespec.FieldError
	if errors.As(err, &fieldErr) {
		field, err = fieldErr.Field, fieldErr.Err
	}
	problem := config.ProblemAt(at, kind, p.namespace, name, field, err.Error())
	if !slices.Contains(p.found, problem) { // a missing Secret fails each of its keys alike
		p.found = append(p.found, problem)
	}
}

// err is the problems as a *config.Error, or nil when there are none.
func (p *problems) err() error {
	if len(p.found) == 0 {
		return nil
	}
	return &config.Error{Problems: p.found}
}
