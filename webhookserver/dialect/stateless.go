package dialect

import "github.com/fulfillment-dev/fulfillment-operator/webhookserver/model"

// AnswerEncoder encodes an answer that needs nothing of the request it answers (CX, Rasa). It is a
// type of no size, so that a Stateless request carries nothing beside its model.Request.
type AnswerEncoder interface {
	EncodeAnswer(answer *model.Answer) ([]byte, error)
}

// Stateless is a request decoded by a dialect whose answers read nothing of the request: its Decoded is the
// model.Request and the dialect's AnswerEncoder.
type Stateless[E AnswerEncoder] struct {
	request model.Request
}

// Request is the request a decoder fills in.
func (s *Stateless[E]) Request() *model.Request { return &s.request }

// Encode is the dialect's encoding of answer.
func (*Stateless[E]) Encode(answer *model.Answer) ([]byte, error) {
	var encoder E
	return encoder.EncodeAnswer(answer)
}

// Adopt is req, a request made by hand (a test's, a tool's), as if a dialect whose answers read nothing of the
// request had decoded it.
func Adopt[E AnswerEncoder](req *model.Request) Decoded { return adopted[E]{req} }

type adopted[E AnswerEncoder] struct{ request *model.Request }

func (a adopted[E]) Request() *model.Request { return a.request }

func (adopted[E]) Encode(answer *model.Answer) ([]byte, error) {
	var encoder E
	return encoder.EncodeAnswer(answer)
}
