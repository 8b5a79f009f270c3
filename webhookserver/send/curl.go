package send

import (
	"maps"
	"net/http"
	"slices"
	"strings"
)

// Curl is the curl command that sends req to url as send would, every argument quoted for a POSIX shell.
func Curl(req *Request, url string, opts *Options) string {
	args := []string{"curl", "-sS"}
	if req.Method != http.MethodPost {
		args = append(args, "-X", req.Method)
	}
	for _, name := range slices.Sorted(maps.Keys(req.Header)) {
		for _, value := range req.Header[name] {
			args = append(args, "-H", name+": "+value)
		}
	}
	if opts.CertFile != "" {
		args = append(args, "--cert", opts.CertFile, "--key", opts.KeyFile)
	}
	if opts.CAFile != "" {
		args = append(args, "--cacert", opts.CAFile)
	}
	args = append(args, "--data-binary", string(req.Body), url)
	quoted := make([]string, len(args))
	for i, arg := range args {
		quoted[i] = shellQuote(arg)
	}
	return strings.Join(quoted, " ")
}

// shellQuote quotes s for a POSIX shell: as it is when it holds only characters no shell reads specially, else
// in single quotes, inside which only a single quote needs care ('\”).
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:@,+=%") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
