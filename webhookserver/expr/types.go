package expr

import (
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"

	"github.com/fulfillment-dev/fulfillment-operator/webhookserver/model"
)

// CEL type names of the three object variables. They show in type errors ("no such overload:
// fulfillment.Request + int") and in type(request).
const (
	requestTypeName  = "fulfillment.Request"
	responseTypeName = "fulfillment.Response"
	endpointTypeName = "fulfillment.Endpoint"
)

var (
	stringStringMapType = cel.MapType(cel.StringType, cel.StringType)
	jsonObjectType      = cel.MapType(cel.StringType, cel.DynType)
)

// objectField is one field of an object type: its CEL type and how to read it from the Go value. get returns
// the raw Go value (a string, a map of JSON values...); CEL adapts it only when and as far as it is used, so
// reading request.intent never converts request.body.
type objectField struct {
	name     string
	typ      *types.Type
	get      func(target any) any
	isSet    func(target any) bool
	celField *types.FieldType
}

// objectType is a CEL object type backed by a Go struct pointer. Its fields are read-only: CEL cannot
// construct one.
type objectType struct {
	celType *types.Type
	fields  []*objectField
	byName  map[string]*objectField
	names   []string
}

func newObjectType(name string, fields ...*objectField) *objectType {
	t := &objectType{
		celType: types.NewObjectType(name),
		fields:  fields,
		byName:  make(map[string]*objectField, len(fields)),
		names:   make([]string, len(fields)),
	}
	for i, f := range fields {
		t.byName[f.name] = f
		t.names[i] = f.name
		// GetFrom and IsSet let the interpreter read the field straight from the Go struct.
		f.celField = &types.FieldType{
			Type:    f.typ,
			IsSet:   f.isSet,
			GetFrom: func(target any) (any, error) { return f.get(target), nil },
		}
	}
	return t
}

// The field readers below are called by CEL with the pointer the activation resolved (or the pointer inside
// an objectValue), so the type assertions cannot fail.

func requestField(name string, get func(r *model.Request) string) *objectField {
	return &objectField{
		name:  name,
		typ:   types.StringType,
		get:   func(t any) any { return get(t.(*model.Request)) },
		isSet: func(t any) bool { return get(t.(*model.Request)) != "" },
	}
}

var requestType = newObjectType(requestTypeName,
	requestField("dialect", func(r *model.Request) string { return r.Dialect }),
	requestField("intent", func(r *model.Request) string { return r.Intent }),
	requestField("action", func(r *model.Request) string { return r.Action }),
	requestField("tag", func(r *model.Request) string { return r.Tag }),
	requestField("event", func(r *model.Request) string { return r.Event }),
	requestField("text", func(r *model.Request) string { return r.Text }),
	requestField("languageCode", func(r *model.Request) string { return r.LanguageCode }),
	requestField("session", func(r *model.Request) string { return r.Session }),
	requestField("method", func(r *model.Request) string { return r.Method }),
	requestField("environment", func(r *model.Request) string { return r.Environment }),
	requestField("version", func(r *model.Request) string { return r.Version }),
	&objectField{
		name:  "parameters",
		typ:   jsonObjectType,
		get:   func(t any) any { return t.(*model.Request).Parameters },
		isSet: func(t any) bool { return len(t.(*model.Request).Parameters) > 0 },
	},
	&objectField{
		name:  "headers",
		typ:   stringStringMapType,
		get:   func(t any) any { return t.(*model.Request).Headers() },
		isSet: func(t any) bool { return len(t.(*model.Request).Headers()) > 0 },
	},
	&objectField{
		name:  "query",
		typ:   stringStringMapType,
		get:   func(t any) any { return t.(*model.Request).Query },
		isSet: func(t any) bool { return len(t.(*model.Request).Query) > 0 },
	},
	&objectField{
		name:  "body",
		typ:   jsonObjectType,
		get:   func(t any) any { return t.(*model.Request).Body() },
		isSet: func(t any) bool { return len(t.(*model.Request).Body()) > 0 },
	},
	requestView("contexts", func(v model.Views) map[string]any { return v.Contexts }),
	requestView("pageInfo", func(v model.Views) map[string]any { return v.PageInfo }),
	requestView("slotsToValidate", func(v model.Views) map[string]any { return v.SlotsToValidate }),
)

// requestView is a field of the request's conversation views (model.Views).
func requestView(name string, get func(model.Views) map[string]any) *objectField {
	return &objectField{
		name:  name,
		typ:   jsonObjectType,
		get:   func(t any) any { return get(t.(*model.Request).Views()) },
		isSet: func(t any) bool { return len(get(t.(*model.Request).Views())) > 0 },
	}
}

var responseType = newObjectType(responseTypeName,
	&objectField{
		name:  "status",
		typ:   types.IntType,
		get:   func(t any) any { return types.Int(t.(*Response).Status) },
		isSet: func(t any) bool { return t.(*Response).Status != 0 },
	},
	&objectField{
		name:  "headers",
		typ:   stringStringMapType,
		get:   func(t any) any { return t.(*Response).Headers },
		isSet: func(t any) bool { return len(t.(*Response).Headers) > 0 },
	},
	&objectField{
		name:  "body",
		typ:   types.DynType,
		get:   func(t any) any { return t.(*Response).Body },
		isSet: func(t any) bool { return t.(*Response).Body != nil },
	},
)

var endpointType = newObjectType(endpointTypeName,
	&objectField{
		name:  "name",
		typ:   types.StringType,
		get:   func(t any) any { return t.(*Endpoint).Name },
		isSet: func(t any) bool { return t.(*Endpoint).Name != "" },
	},
	&objectField{
		name:  "namespace",
		typ:   types.StringType,
		get:   func(t any) any { return t.(*Endpoint).Namespace },
		isSet: func(t any) bool { return t.(*Endpoint).Namespace != "" },
	},
)

var objectTypes = map[string]*objectType{
	requestTypeName:  requestType,
	responseTypeName: responseType,
	endpointTypeName: endpointType,
}

// typeProvider adds the object types to the environment's provider and adapts the Go values CEL meets in
// requests: the variables' struct pointers, JSON values (json.Number included) and string maps.
type typeProvider struct {
	types.Provider
	base types.Adapter
}

// withObjectTypes installs typeProvider as the environment's provider and adapter. It must come after the
// options that register types with the default registry (cel.OptionalTypes).
func withObjectTypes() cel.EnvOption {
	return func(e *cel.Env) (*cel.Env, error) {
		p := &typeProvider{Provider: e.CELTypeProvider(), base: e.CELTypeAdapter()}
		e, err := cel.CustomTypeAdapter(p)(e)
		if err != nil {
			return nil, err
		}
		return cel.CustomTypeProvider(p)(e)
	}
}

// FindStructType implements types.Provider.
func (p *typeProvider) FindStructType(name string) (*types.Type, bool) {
	if t, ok := objectTypes[name]; ok {
		return types.NewTypeTypeWithParam(t.celType), true
	}
	return p.Provider.FindStructType(name)
}

// FindIdent implements types.Provider: the type names are values, as in type(request) == fulfillment.Request.
func (p *typeProvider) FindIdent(name string) (ref.Val, bool) {
	if t, ok := objectTypes[name]; ok {
		return t.celType, true
	}
	return p.Provider.FindIdent(name)
}

// FindStructFieldNames implements types.Provider.
func (p *typeProvider) FindStructFieldNames(name string) ([]string, bool) {
	if t, ok := objectTypes[name]; ok {
		return t.names, true
	}
	return p.Provider.FindStructFieldNames(name)
}

// FindStructFieldType implements types.Provider.
func (p *typeProvider) FindStructFieldType(name, field string) (*types.FieldType, bool) {
	t, ok := objectTypes[name]
	if !ok {
		return p.Provider.FindStructFieldType(name, field)
	}
	f, ok := t.byName[field]
	if !ok {
		return nil, false
	}
	return f.celField, true
}

// NewValue implements types.Provider: the variables' types are read-only.
func (p *typeProvider) NewValue(name string, fields map[string]ref.Val) ref.Val {
	if _, ok := objectTypes[name]; ok {
		return types.NewErr("%s values cannot be created in an expression", name)
	}
	return p.Provider.NewValue(name, fields)
}

// NativeToValue implements types.Adapter. The common JSON shapes come first so that nested values adapt
// through this adapter too (the default adapter would hand nested values to itself and miss json.Number).
func (p *typeProvider) NativeToValue(v any) ref.Val {
	switch v := v.(type) {
	case string:
		return types.String(v)
	case float64:
		return types.Double(v)
	case bool:
		return types.Bool(v)
	case nil:
		return types.NullValue
	case map[string]any:
		return types.NewStringInterfaceMap(p, v)
	case []any:
		return types.NewDynamicList(p, v)
	case map[string]string:
		return types.NewStringStringMap(p, v)
	case json.Number:
		// JSON numbers are doubles in CEL, whether or not the decoder kept their text.
		f, err := v.Float64()
		if err != nil {
			return types.NewErr("invalid JSON number")
		}
		return types.Double(f)
	case ref.Val:
		return v
	case *model.Request:
		return &objectValue{typ: requestType, target: v, adapter: p}
	case *Response:
		return &objectValue{typ: responseType, target: v, adapter: p}
	case *Endpoint:
		return &objectValue{typ: endpointType, target: v, adapter: p}
	}
	return p.base.NativeToValue(v)
}

// objectValue is request, response or endpoint used as a whole value (type(request), [request][0].intent,
// a template rendering ${endpoint}). Field selection on a variable does not build one.
type objectValue struct {
	typ     *objectType
	target  any // *model.Request, *Response or *Endpoint
	adapter types.Adapter
}

// ConvertToNative implements ref.Val.
func (o *objectValue) ConvertToNative(typeDesc reflect.Type) (any, error) {
	if reflect.TypeOf(o.target).AssignableTo(typeDesc) {
		return o.target, nil
	}
	return nil, fmt.Errorf("type conversion error from '%s' to '%v'", o.typ.celType.TypeName(), typeDesc)
}

// ConvertToType implements ref.Val.
func (o *objectValue) ConvertToType(t ref.Type) ref.Val {
	switch t {
	case types.TypeType:
		return o.typ.celType
	case o.typ.celType:
		return o
	}
	return types.NewErr("type conversion error from '%s' to '%s'", o.typ.celType.TypeName(), t.TypeName())
}

// Equal implements ref.Val: two values are equal when they are the same variable.
func (o *objectValue) Equal(other ref.Val) ref.Val {
	ov, ok := other.(*objectValue)
	return types.Bool(ok && ov.target == o.target)
}

// Type implements ref.Val.
func (o *objectValue) Type() ref.Type { return o.typ.celType }

// Value implements ref.Val; field qualifiers read fields from it.
func (o *objectValue) Value() any { return o.target }

// Get implements traits.Indexer, for field access on a value typed dyn.
func (o *objectValue) Get(index ref.Val) ref.Val {
	f, ok := o.field(index)
	if !ok {
		return types.NewErr("no such field: %v", index)
	}
	return o.adapter.NativeToValue(f.get(o.target))
}

// IsSet implements traits.FieldTester.
func (o *objectValue) IsSet(field ref.Val) ref.Val {
	f, ok := o.field(field)
	if !ok {
		return types.NewErr("no such field: %v", field)
	}
	return types.Bool(f.isSet(o.target))
}

func (o *objectValue) field(index ref.Val) (*objectField, bool) {
	name, ok := index.(types.String)
	if !ok {
		return nil, false
	}
	f, ok := o.typ.byName[string(name)]
	return f, ok
}
