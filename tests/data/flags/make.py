"""Makes the labelled sets of the named flags: complaint.csv, escalation.csv, churn.csv.

    python tests/data/flags/make.py          # (re)write the three files (transcription/data/flags)
    python tests/data/flags/make.py --check    # exit 1 if the files differ from what it makes

Every row is made up here, from hand-written templates: there is no real customer's text in
them (see README.md in this folder for what that means for the numbers measured on them). A
*family* is one thing a customer says, written several ways (its templates), with slots
(``{service}``, ``{wait}`` ...) filled from shared vocabularies; each family gives
``PER_FAMILY`` rows. Grouped cross-validation holds whole families out, so that a paraphrase of
a training sentence is never in the test fold (``rows`` gives each row's family).

What a transcript does to speech is imitated: lower case, apostrophes often dropped, "wanna",
words a recogniser mishears ("manger", "cancer", "compliant"), a stutter, fillers, punctuation
kept or not, and the redaction tags a stored transcript holds ("my account number is
[ACCOUNT]"). Those neutral bits are shared by both labels, so they carry no signal.

Deterministic: the same seed and templates give the same files, byte for byte.
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

HERE = Path(__file__).parent
OUT = HERE.parents[2] / "transcription" / "data" / "flags"
"""Where the sets live: inside the package, so that the demo trains its flags on them."""
SEED = 16
PER_FAMILY = 12
FLAGS = ("complaint", "escalation", "churn")


class Family(NamedTuple):
    name: str
    label: int
    templates: tuple[str, ...]


class Row(NamedTuple):
    """One labelled text and where it came from: its family (one thing a customer says) and
    its template (one way of saying it, ``family.N``)."""

    text: str
    label: int
    family: str
    template: str


SLOTS: dict[str, tuple[str, ...]] = {
    "service": ("broadband", "internet", "mobile", "phone line", "tv package", "landline",
                "sim only plan", "fibre", "wifi", "home phone", "contract"),
    "wait": ("two weeks", "three days", "a month", "ten days", "since monday", "since last week",
             "over a week", "six weeks", "five days"),
    "times": ("third time", "fourth time", "fifth time", "second time this week",
              "tenth time"),
    "staff": ("your colleague", "the engineer", "the last person i spoke to",
              "the lady on the phone", "the man in your shop", "the guy on the chat",
              "your advisor"),
    "amount": ("twenty pounds", "forty five pounds", "a hundred and twenty pounds", "£35",
               "£12.99", "sixty quid", "£240"),
    "month": ("last month", "in march", "this month", "on my last bill", "in january",
              "for the last two months"),
    "provider": ("another provider", "a different company", "bt", "sky", "virgin", "vodafone",
                 "someone else", "ee", "talktalk", "three"),
    "day": ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "the 14th",
            "next week"),
    "years": ("two", "five", "ten", "fifteen", "three", "twenty"),
    "boss": ("manager", "supervisor", "team leader", "line manager"),
}

OPENERS = ("", "", "", "hi ", "hello ", "yeah hi ", "um ", "right so ", "ok so ", "hiya ",
           "good morning ", "yes hello ", "look ", "well ")
CLOSERS = ("", "", "", " please", " thanks", " to be honest", " right now", " okay",
           " if that's ok", " mate")
CONTEXT = ("my account number is [ACCOUNT]", "the number is [PHONE]", "i paid with [CARD]",
           "my email is [EMAIL]", "it's about my {service}",
           "i've been a customer for {years} years", "the account's in my name",
           "my date of birth is [DOB]", "the reference is [NUMBER]",
           "i'm calling about the {service}", "it's the one ending [NUMBER]",
           "postcode is the same as before", "i'm on the {service} deal")
FILLERS = ("um", "uh", "like", "you know", "erm", "i mean")
MISHEARD = {"manager": ("manger", "man ager", "managed"), "supervisor": ("super visor",),
            "cancel": ("cancer", "council", "can sell"), "complaint": ("compliant", "complain"),
            "contract": ("contrast", "con tract"), "account": ("count", "a count"),
            "escalate": ("escalade",), "engineer": ("engineers", "engine ear"),
            "ridiculous": ("ridiculus",), "disgrace": ("this grace",),
            "terminate": ("terminates",), "provider": ("providers",), "bill": ("build",),
            "refund": ("we fund",), "switching": ("switch in",), "leaving": ("leading",)}

# -- the neutral contacts every set holds as negatives ------------------------------------------

NEUTRAL = (
    Family("payment", 0, ("i want to pay my bill", "can i change my payment date to {day}",
                          "i'd like to set up a direct debit",
                          "can i pay {amount} now and the rest next week",
                          "how do i pay by card over the phone",
                          "i've just paid {amount} online, can you check it's gone through",
                          "can i pay for the year upfront")),
    Family("moving", 0, ("i'm moving house on {day} and want to take my {service} with me",
                         "can i transfer my {service} to a new address",
                         "we're moving next month, what do i need to do to keep the {service}",
                         "i need the {service} set up at my new flat",
                         "i've moved in with my girlfriend, can we put the {service} in her name",
                         "what's the date my {service} goes live at the new house")),
    Family("upgrade", 0, ("i want to upgrade to faster {service}",
                          "what deals have you got on {service}", "can i add a sim to my account",
                          "is there a better {service} deal for existing customers",
                          "i'd like the sports channels added",
                          "what's the fastest {service} you do at my address",
                          "i saw an advert for the new phone, can i get it on my plan")),
    Family("router", 0, ("how do i reset my router", "what's the wifi password on the box",
                         "the light on the router is orange, what does that mean",
                         "where do i plug the new router in",
                         "how do i connect my printer to the wifi",
                         "can you send a signal to the box, it's asking for an update",
                         "how do i change the name of my wifi network")),
    Family("details", 0, ("i need to update my email address", "can you change the name on the "
                          "account", "i got married so my surname's changed",
                          "can you add my wife to the account so she can call",
                          "i've got a new mobile number to put on the account",
                          "can you put my son on as a second account holder",
                          "i want to change my password for the app")),
    Family("appointment", 0, ("can i book an engineer for {day}",
                              "what time is the engineer coming on {day}",
                              "is the installation still booked for {day}",
                              "can the engineer come in the morning",
                              "does someone need to be in for the installation",
                              "can you text me when the engineer's on the way")),
    Family("info", 0, ("what are your opening hours", "do you cover my area for fibre",
                       "is there an outage in my area", "where's my nearest shop",
                       "how long does it take to install the {service}",
                       "do you do a student discount", "does the {service} work abroad")),
    Family("bill_question", 0, ("can you tell me when my next bill is due",
                                "how much is my bill {month}",
                                "can i get a copy of my bill emailed to me",
                                "i want paper bills instead of online ones",
                                "how do i read the bill, which bit is the total",
                                "can i see my bills in the app")),
)

# -- complaint or dissatisfaction ---------------------------------------------------------------
# 1: the customer says they are dissatisfied with the service, a charge, a person or the way
# they were treated, or asks to complain. 0: anything else, including a question about a charge
# without dissatisfaction, a past problem now solved, praise, "I'm not complaining".

COMPLAINT = (
    Family("formal", 1, ("i want to make a formal complaint", "i'd like to raise a complaint "
                         "about my {service}", "how do i make a complaint",
                         "i want to log a complaint", "can you put in a complaint for me",
                         "i'm ringing to complain about the {service}",
                         "i want it on record that i'm complaining")),
    Family("repeat_calls", 1, ("this is the {times} i've called about this and nothing's been "
                               "done", "i've rung {times} now and no one has fixed it",
                               "every time i call i get told something different",
                               "i keep calling and calling and it's still not sorted",
                               "i've explained this {times} already and i'm still waiting",
                               "why do i have to keep ringing you about the same problem")),
    Family("billing_wrong", 1, ("you've charged me {amount} i never agreed to",
                                "my bill is wrong again", "you took {amount} out of my account "
                                "without telling me", "i've been overcharged {month}",
                                "why have i been charged twice {month}, it's not on",
                                "you keep putting the price up without telling anyone",
                                "i'm being billed for a {service} i never had")),
    Family("waiting", 1, ("i've been waiting {wait} for the engineer", "nobody turned up, i took "
                          "a day off work for nothing", "i was told it'd be fixed in {wait} and "
                          "it's still broken", "still no {service} after {wait}",
                          "the engineer didn't show up again",
                          "i've had no {service} for {wait} and no one can tell me why")),
    Family("rude", 1, ("{staff} was really rude to me", "{staff} hung up on me",
                       "i was spoken to like dirt", "the way {staff} treated me was disgusting",
                       "{staff} laughed at me when i explained the problem",
                       "{staff} was so unprofessional")),
    Family("callback", 1, ("i was promised a call back and never got one",
                           "nobody rang me back like they said they would",
                           "i was told someone would call me and no one did",
                           "you said you'd email me and you never did",
                           "i've been waiting {wait} for the call back i was promised",
                           "you never get back to people")),
    Family("unacceptable", 1, ("this is completely unacceptable", "it's an absolute disgrace",
                               "this is ridiculous", "the service has been appalling",
                               "this is just not good enough", "honestly it's a joke",
                               "the whole thing has been a shambles")),
    Family("unhappy", 1, ("i'm really not happy with my {service}", "i'm very unhappy with how "
                          "this has been handled", "i'm so disappointed with you lot",
                          "i'm fed up with it", "i'm sick of this",
                          "i'm really annoyed about the way this has gone",
                          "i'm absolutely furious")),
    Family("outage", 1, ("my {service} keeps dropping out and nobody cares",
                         "the {service} has been down {wait} and i'm still paying for it",
                         "it cuts out every evening and you've done nothing about it",
                         "the speed is nowhere near what you promised",
                         "the {service} is constantly rubbish and i pay a fortune for it")),
    Family("hold", 1, ("i've been on hold for forty minutes", "i waited an hour in the queue "
                       "just to get through", "i've been passed around five departments",
                       "i've been transferred four times and cut off twice",
                       "it took me ages to get through to anyone",
                       "your phone line kept me waiting for ages then cut me off")),
    Family("mis_sold", 1, ("i was lied to when i signed up", "the salesman told me something "
                           "completely different", "i was mis-sold this {service}",
                           "that's not what i was promised at all",
                           "nobody told me about the extra charges when i signed up",
                           "the deal i was sold isn't the deal i'm getting")),
    Family("compensation", 1, ("i want compensation for this", "i expect a refund for the days "
                               "without {service}", "i want my money back",
                               "you should be paying me for all this hassle",
                               "i want something knocked off my bill for all this",
                               "i expect to be compensated for the time i've lost")),
    Family("wasted_time", 1, ("i've wasted hours of my life on this", "i've spent all morning "
                              "on the phone to you", "this has taken up my whole week",
                              "i've lost a day's pay waiting in for you",
                              "i've had to take time off work because of you")),
    Family("nobody_listens", 1, ("nobody listens to me", "no one seems to care",
                                 "you people don't care about your customers",
                                 "i feel like i'm talking to a brick wall",
                                 "nobody takes any responsibility",
                                 "i'm being fobbed off again")),
    Family("privacy", 1, ("you've sent my details to the wrong address",
                          "someone else's bill came to my house with all their details on it",
                          "you've given my information to someone else without asking me",
                          "why did you tell my ex about my account",
                          "i keep getting marketing calls after i said no")),
    Family("useless_app", 1, ("your app is useless", "the website never works when i need it",
                              "the online chat is a total waste of time",
                              "the app keeps logging me out and i can't pay",
                              "your automated system is awful, it never understands me")),
    Family("damage", 1, ("the engineer damaged my wall", "your engineer left a mess everywhere",
                         "they drilled straight through a cable and left",
                         "the engineer broke my gate and didn't say a word",
                         "there's mud all over my carpet from your engineer")),
    Family("not_complaining", 0, ("i'm not complaining, just asking when the engineer is "
                                  "coming", "no complaints, i just want to check my bill",
                                  "i'm not moaning, i just want to understand the charge",
                                  "this isn't a complaint, i only want some information",
                                  "i can't complain, it's been fine",
                                  "not a complaint, just a question about my {service}")),
    Family("fixed_thanks", 0, ("i had a problem last week but {staff} sorted it, thanks",
                               "the issue's been fixed now, thank you",
                               "it was broken but it's working fine now",
                               "{staff} was really helpful actually",
                               "the {service} was down but it came back and it's fine",
                               "whatever you did worked, it's all good now")),
    Family("charge_question", 0, ("can you explain this {amount} charge on my bill",
                                  "what is this charge for {month}",
                                  "why is my bill higher {month}, did the price go up",
                                  "what's the {amount} for on my statement",
                                  "is the {amount} a one off or every month",
                                  "does my bill include the phone calls")),
    Family("praise", 0, ("the engineer was brilliant", "thank you so much, you've been really "
                         "helpful", "great service as always", "i'm really happy with the new "
                         "{service}", "{staff} was lovely, please pass it on",
                         "the new {service} is so much faster, thanks")),
    Family("my_fault", 0, ("i'm disappointed i missed the engineer, it was my fault i was out",
                           "sorry i missed your call earlier", "it's my mistake, i typed the "
                           "wrong card number", "i forgot to pay, sorry, can i do it now",
                           "i unplugged the box by accident, how do i set it up again")),
    Family("waiting_question", 0, ("how long will i be on hold if i call back later",
                                   "do i need to wait in for the engineer all day",
                                   "what's the waiting time for an installation",
                                   "how long does a refund usually take",
                                   "how long until the {service} is live")),
    Family("refund_status", 0, ("i'm just checking the refund you promised has gone through",
                                "did my refund get processed", "has the credit been added to "
                                "my account yet", "when will the {amount} credit show on my "
                                "bill")),
    Family("complaints_job", 0, ("i work in complaints myself so i know it's busy, no rush",
                                 "my friend said your complaints team is good, but i just need "
                                 "a new sim", "my neighbour asked how your complaints work, "
                                 "i said i'd never needed to",
                                 "no rush at all, i know you're busy")),
    Family("leaving_only", 0, ("i want to cancel my {service}", "i'm moving abroad so i need "
                               "to cancel", "can i have my pac code",
                               "i'm switching to {provider} next month",
                               "my mum died last month, her {service} needs stopping")),
    *NEUTRAL,
)

# -- escalation request ----------------------------------------------------------------------
# 1: the customer asks to be passed above this agent (a manager, a supervisor, someone senior,
# the complaints team) or says they will take it outside (the ombudsman, the regulator, the
# press, a solicitor). 0: a complaint made to the agent, a manager who is not the agent's
# ("my manager at work"), a transfer to another department, an account manager.

ESCALATION = (
    Family("manager", 1, ("can i speak to your manager", "put me through to a manager",
                          "i want to talk to the manager", "get your manager on the phone",
                          "i'd like to speak to a manager", "is there a manager there")),
    Family("supervisor", 1, ("i want to speak to a supervisor", "can you get your supervisor",
                             "transfer me to your supervisor", "i need a supervisor now",
                             "let me talk to a supervisor", "is your supervisor available")),
    Family("senior", 1, ("i want someone more senior", "is there anyone higher up i can talk "
                         "to", "put me through to someone with more authority",
                         "i need someone senior to deal with this",
                         "pass me up the chain please")),
    Family("boss", 1, ("who's your boss", "let me speak to your boss", "i want your team leader",
                       "get me your {boss}", "put your {boss} on",
                       "i'm not dealing with you, i want your {boss}")),
    Family("in_charge", 1, ("i want to speak to whoever is in charge", "get me someone in "
                            "charge", "who's in charge there, put them on",
                            "i want the person responsible for this",
                            "who runs your department")),
    Family("escalate", 1, ("i want this escalated", "please escalate my case",
                           "can you escalate this to the next level",
                           "i want it escalated today", "escalate it, i've had enough",
                           "i need this taken higher")),
    Family("complaints_team", 1, ("put me through to the complaints department",
                                  "i want to speak to your complaints team",
                                  "transfer me to complaints",
                                  "give me the complaints line number",
                                  "i want the complaints people, not you")),
    Family("ombudsman", 1, ("i'm taking this to the ombudsman", "i'll be reporting you to "
                            "ofcom", "i'm going to the ombudsman if this isn't sorted",
                            "i'll report you to the regulator",
                            "i want a deadlock letter so i can go to the ombudsman")),
    Family("press", 1, ("i'll go to the papers about this", "i'm going to post this all over "
                        "social media", "i'll be writing to your chief executive",
                        "i'm contacting watchdog about you",
                        "i'll be emailing the ceo tonight")),
    Family("legal", 1, ("i'll be speaking to my solicitor", "i'm going to take you to the small "
                        "claims court", "you'll be hearing from my lawyer",
                        "i'm getting legal advice about this", "i'll see you in court")),
    Family("not_you", 1, ("i don't want to talk to you anymore, get me someone else",
                          "you clearly can't help me, who can",
                          "i want someone who actually knows what they're doing",
                          "you're no use, find me someone who is",
                          "i want to speak to somebody else, not you")),
    Family("decision_maker", 1, ("put me through to someone who can make a decision",
                                 "you're not authorised, so find me someone who is",
                                 "i need to talk to someone who can actually sign this off",
                                 "who can overrule this, i want them",
                                 "get me someone who has the power to fix this")),
    Family("head_office", 1, ("give me the number for head office", "i want the address of "
                              "your head office so i can write to them",
                              "how do i contact your head office directly",
                              "i'm going over your head to head office")),
    Family("asked_before", 1, ("i've asked three times for a {boss}",
                               "i asked for a {boss} last time and never got one",
                               "i was promised a {boss} would ring me",
                               "where's the {boss} i asked for")),
    Family("work_manager", 0, ("my manager at work asked me to sort out the phones",
                               "i'm the office manager, i look after our business account",
                               "i'm calling on behalf of my {boss} about the company line",
                               "my boss wants a new sim for the work phone",
                               "i'm the supervisor on our site, we need more lines")),
    Family("shop_manager", 0, ("the supervisor in your shop told me to ring this number",
                               "the manager at the store said you could help me set it up",
                               "the shop manager gave me this number",
                               "the lady in charge at your shop said to call")),
    Family("department", 0, ("can you transfer me to billing", "put me through to technical "
                             "support", "which department do i need for moving house",
                             "can i speak to the sales team",
                             "is this the right number for the business team",
                             "can you put me through to the people who do upgrades")),
    Family("no_need", 0, ("no need to escalate, you've sorted it", "i don't need a manager, "
                          "you've been great", "you've been really helpful, i'll tell your "
                          "manager", "no supervisor needed, thanks",
                          "you've fixed it, no need to pass it on")),
    Family("account_manager", 0, ("can i speak to my account manager about the business deal",
                                  "who is our account manager now",
                                  "our account manager said to call about the new lines",
                                  "i need our account manager's email address")),
    Family("seniors", 0, ("do you have a discount for seniors", "my mum's a senior citizen, is "
                          "there a cheaper tariff", "is there a social tariff for pensioners",
                          "is there a simpler phone for older people")),
    Family("speak_someone", 0, ("can i speak to someone about my bill", "i need to talk to "
                                "someone about moving house", "is there someone i can speak to "
                                "about an upgrade", "can someone help me with the app",
                                "i'd like to talk to someone about the tv channels")),
    Family("legal_question", 0, ("do you need a solicitor's letter to close my dad's account",
                                 "what documents do you need for power of attorney",
                                 "my solicitor needs a copy of the contract",
                                 "can you send the contract terms to my email")),
    Family("complaint_to_agent", 0, ("you've charged me {amount} i never agreed to",
                                     "i've been waiting {wait} for the engineer",
                                     "i'm really not happy with my {service}",
                                     "this is the {times} i've called about this",
                                     "i want to make a complaint about my bill")),
    Family("leaving_only", 0, ("i want to cancel my {service}", "i'm going to {provider} "
                               "next month", "can i have my pac code",
                               "i'm moving abroad so i need to end the contract",
                               "i won't be renewing when it ends")),
    *NEUTRAL,
)

# -- cancellation or churn intent ---------------------------------------------------------------
# 1: the customer wants to end, leave, not renew or move away from a service, or asks how
# (a PAC code, an exit fee), or threatens to. Cancelling one line or package while keeping
# another is counted as churn: revenue is lost and a retention call is due. Closing the
# account of someone who died is counted too (the account ends). 0: cancelling an appointment,
# an order or a payment method; a complaint without leaving; moving house and keeping the
# service; renewing; "switch it off and on".

CHURN = (
    Family("cancel", 1, ("i want to cancel my {service}", "please cancel my contract",
                         "i'd like to cancel the {service} contract", "cancel everything",
                         "i'm ringing to cancel", "how do i cancel my {service}")),
    Family("close_account", 1, ("how do i close my account", "i want to close the account",
                                "shut the account down", "close it all down",
                                "i want my account closed by the end of the month")),
    Family("leaving", 1, ("i'm leaving you", "i'm moving to {provider}",
                          "i've signed up with {provider}", "i'm switching to {provider} next "
                          "month", "i've decided to go with {provider}",
                          "i'm done with you, i'm going to {provider}")),
    Family("pac", 1, ("can i have my pac code", "i need my porting code",
                      "give me the code to move my number", "send me my stac code",
                      "text me the pac so i can port my number")),
    Family("threat", 1, ("if this isn't sorted i'm going elsewhere", "sort it out or i'm "
                         "leaving", "one more problem and i'm off",
                         "i'll take my business elsewhere",
                         "fix it this week or i'm switching",
                         "i'm seriously thinking about leaving")),
    Family("notice", 1, ("i want to give notice on my {service}", "i'm giving my thirty days "
                         "notice", "when does my contract end, i want to leave",
                         "take this as my notice to end the {service}")),
    Family("terminate", 1, ("i want to terminate the {service}", "end my subscription",
                            "stop the service from the end of the month",
                            "i want the {service} stopped", "i want out of this contract")),
    Family("cheaper", 1, ("{provider} is offering it half the price so i'm going",
                          "i've found a cheaper deal elsewhere, how do i leave",
                          "you're too expensive, i'm off to {provider}",
                          "i can get it for less with {provider}, so i'll be going")),
    Family("partial", 1, ("can i cancel the second line but keep the first",
                          "i want to get rid of the tv package but keep the {service}",
                          "drop the landline, i don't use it",
                          "remove the extra sim and stop charging me for it",
                          "cancel my son's line, he's got his own now")),
    Family("abroad", 1, ("i'm moving abroad so i need to cancel", "i'm emigrating and want to "
                         "end the contract", "we're moving in with my partner who already has "
                         "{provider}, so cancel mine", "i'm moving to spain, so stop the "
                         "{service} from {day}")),
    Family("bereavement", 1, ("my husband passed away and i need to close his account",
                              "i'm calling to close my late father's account",
                              "my mum died last month, her {service} needs stopping",
                              "my wife has passed, please end her contract")),
    Family("exit_fee", 1, ("how much is it to leave early", "what's the early termination fee",
                           "how much would i pay to get out of the contract",
                           "what will it cost me to end the contract now")),
    Family("no_renew", 1, ("i don't want to renew", "don't roll my contract over",
                           "i won't be renewing when it ends",
                           "don't renew anything, i'm not staying")),
    Family("dont_need", 1, ("i don't need the {service} anymore", "we don't use the {service} "
                            "anymore so stop it", "i no longer want the service",
                            "get rid of the {service}, we never use it")),
    Family("cancel_appointment", 0, ("can i cancel the engineer appointment and rebook",
                                     "i need to cancel the appointment on {day}",
                                     "please cancel the visit on {day}, i'll be out",
                                     "cancel the engineer, the {service} came back on")),
    Family("cancel_payment", 0, ("cancel the direct debit, i'll pay by card from now on",
                                 "i want to cancel the old payment and set up a new one",
                                 "stop the standing order, i've set up a direct debit "
                                 "instead", "cancel the card payment, i'll pay by bank "
                                 "transfer")),
    Family("cancel_order", 0, ("cancel the order for the extra cable",
                               "i ordered a second router by mistake, can you cancel that",
                               "can i cancel the phone i ordered and get the blue one",
                               "cancel the movie i rented by mistake")),
    Family("not_leaving", 0, ("i'm not leaving, i just want a better deal",
                              "i'm happy to stay, what can you offer me",
                              "i don't want to switch, i just want it to work",
                              "i'm staying with you, i just need it fixed")),
    Family("add_line", 0, ("i want to add another line", "can i upgrade my phone",
                           "i'd like to switch to the faster package",
                           "can i switch my plan to unlimited data",
                           "add my daughter to my account")),
    Family("switch_off", 0, ("i switched the router off and on again",
                             "should i switch it off at the wall",
                             "i switched to paperless billing, is that done",
                             "i turned it off and on and it's still the same")),
    Family("close_ticket", 0, ("you can close the fault ticket, it's working now",
                               "you can close the complaint, i'm happy now",
                               "close the case, it's all sorted",
                               "you can end the call, that's everything")),
    Family("leaving_house", 0, ("i'm leaving for work soon, can you be quick",
                                "i'll be leaving the house at two so the engineer must come "
                                "before", "i'm leaving on holiday on {day}, will it be done",
                                "i'm leaving the key with my neighbour for the engineer")),
    Family("renew", 0, ("i want to renew my contract", "can i recontract early for the new "
                        "offer", "i'd like to stay on the same deal for another year",
                        "sign me up for another two years")),
    Family("joining", 0, ("my friend gave me her pac code, how do i use it to join you",
                          "i'm leaving {provider} to come to you, what do i need",
                          "i want to bring my number over from {provider}",
                          "i'm new, i've just joined from {provider}")),
    Family("complaint_only", 0, ("i've been waiting {wait} for the engineer",
                                 "{staff} was really rude to me",
                                 "my bill is wrong again", "this is completely unacceptable",
                                 "i've been on hold for forty minutes")),
    *NEUTRAL,
)

SETS: dict[str, tuple[Family, ...]] = {"complaint": COMPLAINT, "escalation": ESCALATION,
                                       "churn": CHURN}

_SLOT = re.compile(r"\{(\w+)\}")


def _fill(template: str, rng: random.Random) -> str:
    chosen: dict[str, str] = {}

    def pick(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in chosen:
            chosen[name] = rng.choice(SLOTS[name])
        return chosen[name]

    return _SLOT.sub(pick, template)


def _heard(text: str, rng: random.Random) -> str:
    """What a recogniser (or a quick typist) makes of it."""
    text = text.lower()
    if rng.random() < 0.5:
        text = text.replace("'", "")
    if rng.random() < 0.3:
        text = text.replace("want to", "wanna").replace("going to", "gonna")
    out: list[str] = []
    for word in text.split():
        bare = word.strip(".,?!")
        if bare in MISHEARD and rng.random() < 0.08:
            word = word.replace(bare, rng.choice(MISHEARD[bare]))
        out.append(word)
        if rng.random() < 0.02:
            out.append(word)
        if rng.random() < 0.03:
            out.append(rng.choice(FILLERS))
    text = " ".join(out)
    if rng.random() < 0.5:
        text = text.replace(",", "")
    elif not text.endswith((".", "?", "!")):
        text += rng.choice((".", ".", "?"))
    return text


def _utterance(template: str, rng: random.Random) -> str:
    said = rng.choice(OPENERS) + _fill(template, rng) + rng.choice(CLOSERS)
    roll = rng.random()
    if roll < 0.2:
        said = _fill(rng.choice(CONTEXT), rng) + ", " + said
    elif roll < 0.35:
        said = said + ", " + _fill(rng.choice(CONTEXT), rng)
    return _heard(said, rng)


def rows(flag: str, per_family: int = PER_FAMILY, seed: int = SEED) -> list[Row]:
    """One flag's set, in the order the CSV has them; each family gives ``per_family`` rows
    (fewer only if it cannot make that many different texts), its templates in turn."""
    rng = random.Random(f"{flag}:{seed}")
    out: list[Row] = []
    seen: set[str] = set()
    for family in SETS[flag]:
        made = 0
        for attempt in range(per_family * 20):
            number = attempt % len(family.templates)
            text = _utterance(family.templates[number], rng)
            if text in seen:
                continue
            seen.add(text)
            out.append(Row(text, family.label, family.name, f"{family.name}.{number}"))
            made += 1
            if made == per_family:
                break
    rng.shuffle(out)
    return out


def csv_text(flag: str, per_family: int = PER_FAMILY, seed: int = SEED) -> str:
    """The CSV as written: ``text,label``, a header, Unix line ends."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["text", "label"])
    writer.writerows((row.text, row.label) for row in rows(flag, per_family, seed))
    return buffer.getvalue()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT, help="folder to write into")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if a file differs from what would be made")
    args = parser.parse_args(argv)
    stale = []
    for flag in FLAGS:
        path = args.out / f"{flag}.csv"
        text = csv_text(flag)
        if args.check:
            if not path.exists() or path.read_text("utf-8") != text:
                stale.append(path.name)
            continue
        path.write_text(text, "utf-8")
        labels = [int(line.rsplit(",", 1)[1]) for line in text.splitlines()[1:]]
        print(f"{path}: {len(labels)} rows, {sum(labels)} positive, "
              f"{len(SETS[flag])} families, {len(text.encode()) // 1024} KB")
    if stale:
        print(f"out of date: {', '.join(stale)}; run {Path(__file__).name} again",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
