// Command upstream is a tiny bank API for hack/bench/compare.sh: GET /accounts/{account}/balance answers
// {"account": ..., "balance": 1234.56, "currency": "EUR"}. It stands for the upstream that a webhookserver route
// `call`s, so that the cost the call adds can be told from the upstream's own.
package main

import (
	"encoding/json"
	"flag"
	"log"
	"net/http"
	"time"
)

type balance struct {
	Account  string  `json:"account"`
	Balance  float64 `json:"balance"`
	Currency string  `json:"currency"`
}

func main() {
	listen := flag.String("listen", "127.0.0.1:8081", "address to listen on")
	flag.Parse()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /accounts/{account}/balance", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(balance{Account: r.PathValue("account"), Balance: 1234.56, Currency: "EUR"})
	})
	srv := &http.Server{Addr: *listen, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.ListenAndServe())
}
