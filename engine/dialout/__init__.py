"""L2TP dial-out control core (sans-IO): targets, session state machine, tunnel selection and
the service tying the chassis, virtual router, target and session levels together."""
from engine.dialout.selection import DestinationSnapshot, DestinationState, DestinationTable, TunnelDef, TunnelSelector
from engine.dialout.service import (
                                      AuthorizeRequest,
                                      CallParams,
                                      ChassisConfig,
                                      ChassisSnapshot,
                                      ChassisState,
                                      CloseTunnel,
                                      ConfigError,
                                      Denial,
                                      DialoutConfig,
                                      DialoutService,
                                      DialoutSnapshot,
                                      DialoutTrace,
                                      ForwardPackets,
                                      Grant,
                                      InstallRoutes,
                                      OpenTunnel,
                                      PlaceCall,
                                      RemoveRoutes,
                                      SessionKey,
                                      SessionSnapshot,
                                      StartPpp,
                                      TargetSnapshot,
                                      TearDown,
                                      TunnelSnapshot,
                                      VrConfig,
                                      VrSnapshot,
                                      VrState,
                                      access_routes_from,
)
from engine.dialout.session import TRANSITIONS, Action, InvalidTransition, SessionEvent, SessionState, transition
from engine.dialout.targets import Counters, CounterSnapshot, Target, TargetConfig, TargetState

__all__ = [
    "Action", "AuthorizeRequest", "CallParams", "ChassisConfig", "ChassisSnapshot", "ChassisState",
    "CloseTunnel", "ConfigError", "CounterSnapshot", "Counters", "Denial", "DestinationSnapshot",
    "DestinationState", "DestinationTable", "DialoutConfig", "DialoutService", "DialoutSnapshot",
    "DialoutTrace", "ForwardPackets", "Grant", "InstallRoutes", "InvalidTransition", "OpenTunnel",
    "PlaceCall", "RemoveRoutes", "SessionEvent", "SessionKey", "SessionSnapshot", "SessionState",
    "StartPpp", "TRANSITIONS", "Target", "TargetConfig", "TargetSnapshot", "TargetState",
    "TearDown", "TunnelDef", "TunnelSelector", "TunnelSnapshot", "VrConfig", "VrSnapshot",
    "VrState", "access_routes_from", "transition",
]
