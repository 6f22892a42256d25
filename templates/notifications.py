"""The alarm topic and the one way alarms are made here: always with alarm AND OK actions.

An alarm that notifies nobody is how an outage goes unnoticed; `add_alarm` is the only alarm
factory in the code base and cannot be called without a topic.
"""

from dataclasses import dataclass

from awacs import sns as sns_actions
from troposphere import Output, Ref, Template, cloudwatch, sns

from . import grants, names
from .keys import Key
from .physical_names import alarm_name, physical
from .tagging import name, tags


@dataclass(frozen=True)
class Topic:
    topic: sns.Topic

    @property
    def arn(self) -> Ref:
        return Ref(self.topic)


def add_alarm_topic(template: Template, key: Key, *, role: str = "alarms") -> Topic:
    topic = template.add_resource(sns.Topic(
        "AlarmTopic",
        TopicName=name(role),
        DisplayName=name(role),
        KmsMasterKeyId=key.arn,
        Tags=tags(role),
    ))
    template.add_resource(sns.TopicPolicy(
        "AlarmTopicPolicy",
        Topics=[Ref(topic)],
        PolicyDocument=grants.policy(
            grants.topic_publish_by_cloudwatch(Ref(topic)),
            grants.deny_insecure_transport("DenyInsecureTransport", [sns_actions.Publish],
                                           [Ref(topic)]),
        ),
    ))
    template.add_resource(sns.SubscriptionResource(
        "AlarmEmailSubscription",
        Condition=names.HAS_ALARM_EMAIL,
        TopicArn=Ref(topic),
        Protocol="email",
        Endpoint=Ref(names.ALARM_EMAIL),
    ))
    template.add_output(Output(names.OUT_ALARM_TOPIC_ARN, Description="Alarm topic ARN",
                               Value=Ref(topic)))
    return Topic(topic)


def add_alarm(template: Template, logical_id: str, topic: Topic, *, description: str,
              condition: str | None = None, **props) -> cloudwatch.Alarm:
    """A CloudWatch alarm that notifies `topic` when it fires and when it recovers. Its name is
    `<prefix>-<env>-<logical id>`, so the dashboard and the drills can name it in any region."""
    if not description:
        raise ValueError(f"alarm {logical_id} needs a description a person on call can act on")
    extra = {"Condition": condition} if condition else {}
    return template.add_resource(cloudwatch.Alarm(
        logical_id,
        AlarmName=physical(alarm_name(logical_id)),
        AlarmDescription=description,
        AlarmActions=[topic.arn],
        OKActions=[topic.arn],
        **extra,
        **props,
    ))
