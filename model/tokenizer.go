package model

import (
	"fmt"
	"strconv"
	"strings"
)

// Token ids of the byte-level vocabulary: ids 0..255 are the bytes, the
// special tokens follow.
const (
	BOS      = 256 // beginning of sequence, prepended to every prompt by the chat template
	EOS      = 257 // end of sequence: generation stops after it
	PAD      = 258 // padding; never a training target
	IMStart  = 259 // <|im_start|>, opens a chat turn
	IMEnd    = 260 // <|im_end|>, closes a chat turn (generation stops after it)
	numBytes = 256
	// VocabSize is the number of token ids.
	VocabSize = 261
)

var specialNames = [...]string{"<|bos|>", "<|eos|>", "<|pad|>", "<|im_start|>", "<|im_end|>"}

// Tokenizer is the byte-level tokenizer: every byte is one token and the
// literal spellings of the special tokens ("<|bos|>", "<|eos|>", "<|pad|>",
// "<|im_start|>", "<|im_end|>") encode to their ids. The zero value is ready
// to use.
type Tokenizer struct{}

// Encode returns the token ids of text; special-token spellings become
// special ids.
func (Tokenizer) Encode(text string) []int {
	ids := make([]int, 0, len(text))
	for i := 0; i < len(text); {
		id, n := nextToken(text, i)
		ids = append(ids, id)
		i += n
	}
	return ids
}

// Len is len(Encode(text)), counted without allocating the ids: a server
// checks a prompt's length before tokenizing it.
func (Tokenizer) Len(text string) int {
	count := 0
	for i := 0; i < len(text); count++ {
		_, n := nextToken(text, i)
		i += n
	}
	return count
}

// nextToken returns the token at text[i:] and how many bytes it spans.
func nextToken(text string, i int) (id, n int) {
	if text[i] == '<' && i+1 < len(text) && text[i+1] == '|' {
		if id, n := matchSpecial(text[i:]); n > 0 {
			return id, n
		}
	}
	return int(text[i]), 1
}

func matchSpecial(s string) (id, n int) {
	for k, name := range specialNames {
		if strings.HasPrefix(s, name) {
			return numBytes + k, len(name)
		}
	}
	return 0, 0
}

// Decode returns the text of ids. Special tokens are written with their
// spelling unless skipSpecial is set, in which case they are dropped. Ids
// outside the vocabulary are an error.
func (Tokenizer) Decode(ids []int, skipSpecial bool) (string, error) {
	var b strings.Builder
	for i, id := range ids {
		switch {
		case id >= 0 && id < numBytes:
			b.WriteByte(byte(id))
		case id >= numBytes && id < VocabSize:
			if !skipSpecial {
				b.WriteString(specialNames[id-numBytes])
			}
		default:
			return "", fmt.Errorf("decode: token %d at position %d is outside the vocabulary 0..%d", id, i, VocabSize-1)
		}
	}
	return b.String(), nil
}

// TokenString is the text of one token id as shown in logprobs: the byte as
// a string, or the special token's spelling.
func (t Tokenizer) TokenString(id int) string {
	s, err := t.Decode([]int{id}, false)
	if err != nil {
		return "<|invalid:" + strconv.Itoa(id) + "|>"
	}
	return s
}

// IsSpecial reports whether id is a special token.
func IsSpecial(id int) bool { return id >= numBytes && id < VocabSize }

// ChatMessage is one turn of a conversation.
type ChatMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// ChatPrompt renders messages with the chat template and opens the
// assistant's turn:
//
//	<|bos|><|im_start|>ROLE\nCONTENT<|im_end|>\n ... <|im_start|>assistant\n
//
// Content is encoded byte by byte: special spellings inside a message are
// not turned into special tokens, so user text cannot forge turns.
func ChatPrompt(messages []ChatMessage) []int {
	ids := []int{BOS}
	for _, m := range messages {
		ids = append(ids, IMStart)
		ids = appendBytes(ids, m.Role)
		ids = append(ids, '\n')
		ids = appendBytes(ids, m.Content)
		ids = append(ids, IMEnd, '\n')
	}
	ids = append(ids, IMStart)
	ids = appendBytes(ids, "assistant")
	return append(ids, '\n')
}

// ChatPromptLen is len(ChatPrompt(messages)), computed without building
// the prompt.
func ChatPromptLen(messages []ChatMessage) int {
	n := 1 + 1 + len("assistant") + 1 // BOS, then the assistant's opening
	for _, m := range messages {
		n += 1 + len(m.Role) + 1 + len(m.Content) + 2
	}
	return n
}

func appendBytes(ids []int, s string) []int {
	for i := 0; i < len(s); i++ {
		ids = append(ids, int(s[i]))
	}
	return ids
}
