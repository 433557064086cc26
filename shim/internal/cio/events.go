package cio

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os/exec"
	"time"

	"github.com/containerd/typeurl/v2"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

// The topics containerd files task events under.
const (
	TopicCreate      = "/tasks/create"
	TopicStart       = "/tasks/start"
	TopicExit        = "/tasks/exit"
	TopicDelete      = "/tasks/delete"
	TopicExecAdded   = "/tasks/exec-added"
	TopicExecStarted = "/tasks/exec-started"
	TopicPaused      = "/tasks/paused"
	TopicResumed     = "/tasks/resumed"
	TopicOOM         = "/tasks/oom"
)

const (
	// eventQueue is how many events may wait to be published.
	eventQueue = 128
	// PublishTimeout bounds one run of the publish binary.
	PublishTimeout = 10 * time.Second
	// publishAttempts: a containerd being restarted misses an event
	// only when it stays away through every attempt.
	publishAttempts = 5
)

// event is one event to publish.
type event struct {
	topic string
	msg   proto.Message
}

// Publisher sends events to containerd through its publish binary
// (`containerd --address A publish --topic T --namespace NS`, the event as
// a protobuf Any on stdin), one at a time and in order: a TaskExit must not
// overtake the TaskStart before it.
type Publisher struct {
	binary, address, namespace string
	log                        *slog.Logger
	queue                      chan event
	done                       chan struct{}
}

func NewPublisher(binary, address, namespace string, log *slog.Logger) *Publisher {
	p := &Publisher{binary: binary, address: address, namespace: namespace, log: log,
		queue: make(chan event, eventQueue), done: make(chan struct{})}
	go p.run()
	return p
}

// publish queues an event; it never blocks the task service: when the
// queue is full the event is dropped and logged.
func (p *Publisher) Publish(topic string, msg proto.Message) {
	select {
	case p.queue <- event{topic, msg}:
	default:
		p.log.Warn("event queue full, dropping an event", "topic", topic)
	}
}

// close publishes what is queued, bounded by ctx, and stops.
func (p *Publisher) Close(ctx context.Context) {
	close(p.queue)
	select {
	case <-p.done:
	case <-ctx.Done():
	}
}

func (p *Publisher) run() {
	defer close(p.done)
	for ev := range p.queue {
		var err error
		for i := range publishAttempts {
			if err = p.send(ev); err == nil {
				break
			}
			time.Sleep(time.Duration(i+1) * 200 * time.Millisecond)
		}
		if err != nil {
			p.log.Warn("publishing an event", "topic", ev.topic, "err", err)
		}
	}
}

// send runs the publish binary once.
func (p *Publisher) send(ev event) error {
	data, err := marshalEvent(ev.msg)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), PublishTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, p.binary, "--address", p.address, "publish", "--topic", ev.topic, "--namespace", p.namespace)
	cmd.Stdin = bytes.NewReader(data)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("running %s publish: %w: %s", p.binary, err, bytes.TrimSpace(out))
	}
	return nil
}

// marshalEvent encodes the event as the Any containerd's publish command
// reads: containerd's own type URL (the message's full name), not the
// type.googleapis.com/ one, which containerd's type registry would not find.
func marshalEvent(msg proto.Message) ([]byte, error) {
	a, err := typeurl.MarshalAny(msg)
	if err != nil {
		return nil, fmt.Errorf("encoding event: %w", err)
	}
	return proto.Marshal(&anypb.Any{TypeUrl: a.GetTypeUrl(), Value: a.GetValue()})
}
