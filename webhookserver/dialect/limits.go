package dialect

import "fmt"

// CheckDialogflowSize refuses a response body Dialogflow (ES or CX) would refuse for its size, so that the
// server can answer its fallback instead of an answer the agent would drop. The forward action can use it too,
// since a backend's answer goes to Dialogflow unchanged.
func CheckDialogflowSize(body []byte) error {
	if len(body) > MaxDialogflowResponseBytes {
		return &EncodeError{Message: fmt.Sprintf(
			"response is %d bytes, over Dialogflow's limit of %d bytes (64 KiB)", len(body), MaxDialogflowResponseBytes)}
	}
	return nil
}
