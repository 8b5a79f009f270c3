package expr

import (
	"runtime"
	"sync"
	"weak"
)

// programCache shares one Program between every compilation of the same expression with the same options,
// for as long as one of them is in use.
//
// A cel-go program holds its own copy of the environment's function table, whatever the expression, so a
// configuration of many routes, each with a guard and a template, held tens of megabytes of programs, most of
// them the same few expressions (`params.account`, `has(params.topic)`...).
// A Program is immutable and safe for concurrent use, so sharing it changes nothing but memory. Entries are
// weak: an expression that no loaded configuration uses any more is collected, and its entry dropped.
type programCache struct {
	mu       sync.Mutex
	programs map[programKey]weak.Pointer[Program]
}

type programKey struct {
	src     string
	options compileOptions
}

// get returns the program compiled for key, if one is still in use.
func (c *programCache) get(key programKey) *Program {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.programs[key].Value()
}

// put records p as the program of key and returns it, or the program another compilation recorded first.
func (c *programCache) put(key programKey, p *Program) *Program {
	c.mu.Lock()
	defer c.mu.Unlock()
	if shared := c.programs[key].Value(); shared != nil {
		return shared
	}
	if c.programs == nil {
		c.programs = map[programKey]weak.Pointer[Program]{}
	}
	c.programs[key] = weak.Make(p)
	runtime.AddCleanup(p, c.collected, key)
	return p
}

// collected drops key's entry once its program was garbage collected, unless a newer program took its place.
func (c *programCache) collected(key programKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.programs[key].Value() == nil {
		delete(c.programs, key)
	}
}
