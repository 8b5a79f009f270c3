// Command barehttp holds the two Go baselines of hack/bench/compare.sh, with no auth, no routing, no logging and
// no metrics:
//
//   - POST /bank-bot, (c): decodes the Dialogflow ES WebhookRequest with encoding/json and encodes a fixed
//     WebhookResponse, the least a Go fulfillment handler does;
//   - POST /constant, (e): reads the body and writes a constant answer, the limit of Go's HTTP stack here.
package main

import (
	"encoding/json"
	"flag"
	"io"
	"log"
	"net/http"
	"time"
)

// webhookRequest holds the parts of a Dialogflow ES WebhookRequest a handler would read.
type webhookRequest struct {
	ResponseID  string `json:"responseId"`
	Session     string `json:"session"`
	QueryResult struct {
		QueryText  string         `json:"queryText"`
		Action     string         `json:"action"`
		Parameters map[string]any `json:"parameters"`
		Intent     struct {
			Name        string `json:"name"`
			DisplayName string `json:"displayName"`
		} `json:"intent"`
		OutputContexts []struct {
			Name          string         `json:"name"`
			LifespanCount int            `json:"lifespanCount"`
			Parameters    map[string]any `json:"parameters"`
		} `json:"outputContexts"`
		LanguageCode string `json:"languageCode"`
	} `json:"queryResult"`
}

type webhookResponse struct {
	FulfillmentText string `json:"fulfillmentText"`
}

func main() {
	listen := flag.String("listen", "127.0.0.1:8082", "address to listen on")
	flag.Parse()
	answer := webhookResponse{FulfillmentText: "Your demo account balance is 1234.56 EUR."}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /bank-bot", func(w http.ResponseWriter, r *http.Request) {
		var req webhookRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(answer)
	})
	constant, err := json.Marshal(answer)
	if err != nil {
		log.Fatal(err)
	}
	mux.HandleFunc("POST /constant", func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.Copy(io.Discard, r.Body); err != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(constant)
	})
	srv := &http.Server{Addr: *listen, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.ListenAndServe())
}
