package wire

import (
	"encoding/json"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/dialect"
)

// Marshal encodes a response. Struct fields keep their declared order and map keys are sorted, so the same
// answer always gives the same bytes. A value JSON cannot hold (NaN, a function) becomes a *dialect.EncodeError,
// which the server answers with its fallback.
//
// A JSONWriter writes itself, as encoding/json would; when it cannot, encoding/json writes or refuses it.
func Marshal(response any) ([]byte, error) {
	if writer, ok := response.(JSONWriter); ok {
		if body, ok := WriteJSON(writer); ok {
			return body, nil
		}
	}
	body, err := json.Marshal(response)
	if err != nil {
		return nil, &dialect.EncodeError{Message: "cannot encode the answer as JSON: " + err.Error()}
	}
	return body, nil
}
