// Command barehttp is the practical limit for hack/bench/compare.sh: a bare net/http handler that decodes the
// Dialogflow ES WebhookRequest with encoding/json and encodes a fixed WebhookResponse. No auth, no routing, no
// logging, no metrics.
package main

import (
	"encoding/json"
	"flag"
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
	srv := &http.Server{Addr: *listen, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.ListenAndServe())
}
