package cx

import "github.com/fulfillment-dev/fulfillment-operator/webhookserver/model"

// pageInfo is google.cloud.dialogflow.cx.v3.PageInfo as a webhook writes it: only the form's parameters, since
// Dialogflow ignores the current page in an answer.
type pageInfo struct {
	FormInfo formInfo `json:"formInfo"`
}

// formInfo is PageInfo.FormInfo.
type formInfo struct {
	ParameterInfo []parameterInfo `json:"parameterInfo"`
}

// parameterInfo is PageInfo.FormInfo.ParameterInfo. Dialogflow reads two things of it in an answer: an INVALID
// state, which clears the parameter and re-prompts it, and a value, which becomes the parameter's. Required is
// echoed from the request, so that the answer does not change whether the form needs the parameter;
// justCollected is ignored in an answer and left out.
type parameterInfo struct {
	DisplayName string `json:"displayName"`
	Required    bool   `json:"required,omitempty"`
	State       string `json:"state"`
	Value       any    `json:"value,omitempty"`
}

// The ParameterState names (PageInfo.FormInfo.ParameterInfo.ParameterState) an answer writes.
const (
	stateEmpty   = "EMPTY"
	stateInvalid = "INVALID"
	stateFilled  = "FILLED"
)

// formVerdicts turns the route's verdicts on the form's parameters into the answer's pageInfo and the session
// parameters they set. An invalid parameter is INVALID and its session parameter null, as Google's form
// validation sample answers, so that CX clears it and prompts for it again. A valid one with a value is FILLED
// with that value, in the session too; one without keeps the value the request carries (its parameterInfo
// value, else its session parameter), or is EMPTY when it carries none.
func formVerdicts(req *model.Request, verdicts []model.FormParameter) (*pageInfo, map[string]any) {
	sent := sentParameters(requestPageInfo(req))
	infos := make([]parameterInfo, 0, len(verdicts))
	session := make(map[string]any, len(verdicts))
	for _, verdict := range verdicts {
		info := parameterInfo{DisplayName: verdict.Name, Required: sent[verdict.Name].required}
		switch {
		case verdict.Invalid:
			info.State = stateInvalid
			session[verdict.Name] = nil
		case verdict.HasValue:
			info.Value = verdict.Value
			session[verdict.Name] = verdict.Value
		default:
			info.Value = currentValue(req, sent, verdict.Name)
		}
		if info.State == "" {
			info.State = stateFilled
			if info.Value == nil {
				info.State = stateEmpty
			}
		}
		infos = append(infos, info)
	}
	return &pageInfo{FormInfo: formInfo{ParameterInfo: infos}}, session
}

// sentParameter is what the request says of one form parameter.
type sentParameter struct {
	required bool
	value    any
	hasValue bool
}

// sentParameters are the request's form parameters by display name. Elements of a shape the API does not send
// are skipped: the request is the caller's, and only what it says of the route's parameters matters here.
func sentParameters(pageInfo map[string]any) map[string]sentParameter {
	formInfo, _ := pageInfo["formInfo"].(map[string]any)
	list, _ := formInfo["parameterInfo"].([]any)
	sent := make(map[string]sentParameter, len(list))
	for _, element := range list {
		parameter, _ := element.(map[string]any)
		name, _ := parameter["displayName"].(string)
		if name == "" {
			continue
		}
		required, _ := parameter["required"].(bool)
		value, hasValue := parameter["value"]
		sent[name] = sentParameter{required: required, value: value, hasValue: hasValue && value != nil}
	}
	return sent
}

// currentValue is the value the request gives the form parameter name: its parameterInfo value, else the
// session parameter of that name.
func currentValue(req *model.Request, sent map[string]sentParameter, name string) any {
	if parameter := sent[name]; parameter.hasValue {
		return parameter.value
	}
	return req.Parameters[name]
}
