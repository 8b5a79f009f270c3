package rasa

import (
	"encoding/json"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/model"
)

// actionError is the Rasa SDK's error body. Rasa reads action_name from a 400 answer (a rejected action, after
// which its policies predict another one), so it is always written, empty when the request could not be decoded.
type actionError struct {
	Error      string `json:"error"`
	ActionName string `json:"action_name"`
}

// EncodeError writes an error the way the Rasa SDK does: 404 for an action it does not know, 400 for an action
// that rejects the call. Rasa has no error codes, so code is not written.
func (codec) EncodeError(req *model.Request, _ int, _, message string) []byte {
	var actionName string
	if req != nil {
		actionName = req.Action
	}
	// Marshalling two strings cannot fail.
	body, _ := json.Marshal(actionError{Error: message, ActionName: actionName})
	return body
}
