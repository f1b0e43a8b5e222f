"""Builds the bot from settings: the services, the Bot, and the Dispatcher with its router tree.

The runners (polling, webhook) and the worker take what they need from here; nothing here
starts anything.
"""

from __future__ import annotations

from decimal import Decimal

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import PRODUCTION, TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.types import BotCommand

from bot.config import Settings
from bot.container import Services
from bot.handlers import (
    admin,
    balance,
    broadcast,
    catalog,
    common,
    connect,
    console,
    console_people,
    errors,
    membership,
    orders,
    referral,
    shop,
    shop_admin,
    topup,
    wizard,
)
from bot.i18n import CatalogI18n, _
from bot.middlewares.access import AccountLookup, AccountRequired
from bot.middlewares.banned import BanGate
from bot.middlewares.checkout_unlocked import CheckoutUnlocked
from bot.middlewares.maintenance import MaintenanceGate
from bot.middlewares.people import (
    REFUSAL_INTERVAL,
    AllowListMiddleware,
    PersonLocaleMiddleware,
    PersonMiddleware,
)
from bot.middlewares.private import PrivateChatsOnly
from bot.middlewares.services import HandlerServices
from bot.middlewares.throttling import Buckets, ThrottlingMiddleware, TokenBuckets
from bot.panel.client import PanelClient
from bot.payments.cryptopay import CryptoPayClient, api_url
from bot.runners.inflight import CountingDispatcher, InFlight
from bot.runners.inline_filters import inline_filters
from bot.services.accounts import AccountResolver
from bot.services.broadcast import Broadcaster
from bot.services.catalog import CatalogService, SharedCatalogues
from bot.services.delivery import OutboundQueue
from bot.services.ledger import OrderRefunds
from bot.services.maintenance import Maintenance
from bot.services.money import minor_digits, to_minor_up
from bot.services.notifying import Notifier
from bot.services.ordering import OrderService
from bot.services.panel_funds import PanelFunds
from bot.services.people import People
from bot.services.referrals import Referrals, commission_key
from bot.services.shop import ShopCatalog, ShopService
from bot.services.shop_orders import ShopOrders
from bot.services.shop_pricing import PriceRule
from bot.services.topup_wallet import LedgerWallet
from bot.services.topups import Credited, OutsideRefund, TopupService, credit_key
from bot.services.tracking import OrderTracker
from bot.shared.catalogues import RedisCatalogues
from bot.shared.claims import RedisClaims
from bot.shared.connection import SharedRedis
from bot.shared.flood import RedisTokenBuckets
from bot.shared.memory import RedisRecentlyTold
from bot.storage import (
    Database,
    KeyRepository,
    OrderRepository,
    RefillRepository,
    UserRepository,
)
from bot.storage.console import BroadcastRepository, OrderStats, PeopleStore, SettingsStore
from bot.storage.fsm import DatabaseStorage, KeyIsolation
from bot.storage.referrals import ReferralRepository
from bot.storage.repositories import OrderRow
from bot.storage.shop import ShopRepository
from bot.storage.topups import Provider, TopupRepository
from bot.storage.users import Newcomers, PersonReads
from bot.storage.wallets import WalletRepository
from bot.telegram.broadcast_progress import ProgressReporter
from bot.telegram.limiter import SendLimiter
from bot.telegram.response_types import KeepResponseTypes
from bot.telegram.retry import FloodControlMiddleware
from bot.telegram.sender import make_bot_sender
from bot.views import referrals as referral_views
from bot.views import topups as topup_views
from bot.views.broadcast import content_markup
from bot.views.notifications import NotificationViews
from bot.views.shop import ShopMoney, panel_funds_alert


def build_bot(
    settings: Settings, limiter: SendLimiter, session: AiohttpSession | None = None
) -> Bot:
    """A Bot whose every call goes through ``limiter`` (Telegram's limits, priorities, 429s)."""
    if session is None:
        url = settings.telegram_api_url
        session = AiohttpSession(api=TelegramAPIServer.from_base(url) if url else PRODUCTION)
    session.middleware(KeepResponseTypes())
    session.middleware(FloodControlMiddleware(limiter))
    return Bot(
        settings.bot_token.get_secret_value(),
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True),
    )


def build_services(
    settings: Settings,
    i18n: CatalogI18n,
    db: Database,
    keys: KeyRepository,
    bot: Bot,
    shared: SharedRedis | None = None,
) -> Services:
    """With `shared` (REDIS_URL), the catalogue cache and the notifications in flight are
    shared with the other instances."""
    s = settings
    # On PostgreSQL, the people's rows every update reads are read together (see PersonReads).
    users = UserRepository(db, Newcomers(db), PersonReads(db) if db.dialect.postgres else None)
    # A shop's orders move the wallet in the transactions that record them.
    shop_orders = ShopOrders(db) if s.shop_mode else None
    orders_repo = shop_orders or OrderRepository(db)
    refills = RefillRepository(db)
    panel = PanelClient(
        s.panel_url,
        timeout=s.panel_timeout_seconds,
        user_agent=s.panel_user_agent,
        read_retries=s.panel_read_retries,
        retry_backoff=s.panel_retry_backoff_seconds,
        interactive_deadline=s.panel_interactive_deadline_seconds,
    )
    shared_key = s.panel_key.get_secret_value() if s.shared_key_mode and s.panel_key else None
    accounts = AccountResolver(panel, keys, shared_key)

    async def blocked(chat_id: int) -> None:
        await users.set_blocked(chat_id, True)

    # Telegram's limits are kept by the bot's limiter (see build_bot), not by the queue.
    queue = OutboundQueue(make_bot_sender(bot), on_blocked=blocked)
    claims = RedisClaims(shared) if shared is not None else None
    catalogues = RedisCatalogues(shared) if shared is not None else None
    wallets = WalletRepository(db) if s.shop_mode else None
    money = ShopMoney(s.shop_currency, minor_digits(s.shop_currency)) if s.shop_mode else None
    refunds = OrderRefunds(wallets) if wallets is not None else None
    notifier = Notifier(
        orders_repo,
        refills,
        users,
        queue,
        NotificationViews(i18n, money),
        s.admin_ids,
        refunds=refunds,
        claims=claims,
    )

    async def alert_unknown(order: OrderRow) -> None:
        # The notifier tells whoever was not told yet: the admins, and the owner when no
        # answer to their Confirm does (a stop or a crash cut it off).
        await notifier.flush()

    ordering = OrderService(
        orders_repo,
        refills,
        poll_interval=s.poll_interval_seconds,
        on_unknown=alert_unknown,
        charged=shop_orders,
    )
    seller = (
        _shop(s, db, wallets, accounts, notifier, ordering, catalogues)
        if wallets is not None
        else None
    )
    tracker = OrderTracker(
        orders_repo,
        refills,
        accounts,
        base_interval=s.poll_interval_seconds,
        max_interval=s.poll_max_interval_seconds,
        on_changes=notifier.flush,
    )
    # Outside a shop referrals still attribute people, but nothing is paid.
    referrals = Referrals(ReferralRepository(db), s.referral_percent if s.shop_mode else Decimal(0))
    return Services(
        settings=s,
        i18n=i18n,
        db=db,
        users=users,
        orders=orders_repo,
        refills=refills,
        keys=keys,
        panel=panel,
        accounts=accounts,
        catalog=seller.catalog
        if seller is not None
        else CatalogService(s.catalog_ttl_seconds, shared=catalogues),
        queue=queue,
        notifier=notifier,
        ordering=ordering,
        tracker=tracker,
        broadcaster=Broadcaster(
            BroadcastRepository(db),
            queue,
            markup=content_markup,
            report=ProgressReporter(bot, i18n, users),
        ),
        maintenance=Maintenance(SettingsStore(db)),
        order_stats=OrderStats(db),
        people=People(PeopleStore(db), admin_ids=s.admin_ids),
        referrals=referrals,
        shop=seller,
        wallets=wallets,
        shared=shared,
        topups=_topups(s, db, wallets, notifier, referrals) if wallets is not None else None,
    )


def _topups(
    s: Settings,
    db: Database,
    wallets: WalletRepository,
    notifier: Notifier,
    referrals: Referrals,
) -> TopupService:
    digits = minor_digits(s.shop_currency)
    money = ShopMoney(s.shop_currency, digits)
    cryptopay = None
    if s.cryptopay_token is not None:
        cryptopay = CryptoPayClient(
            s.cryptopay_token.get_secret_value(),
            api_url(s.cryptopay_network, s.cryptopay_api_url),
            timeout=s.panel_timeout_seconds,
        )

    async def receipt(credited: Credited) -> None:
        topup = credited.topup
        if topup.charge_id is not None:
            # Posted with the credit (fresh as it is): the referrer is told by the queue, in
            # their language; a referrer who blocked the bot keeps the money all the same.
            key = commission_key(credit_key(topup.provider, topup.charge_id))
            share = await wallets.by_key(key)
            if share is not None:
                await notifier.tell(
                    [share.user_id],
                    lambda: referral_views.commission(money, share.amount, share.balance_after),
                )
        # A Crypto Pay invoice is found paid by the worker, away from any chat: told by queue.
        # (A Stars payment's receipt answers its successful_payment message.)
        if topup.provider is not Provider.CRYPTOPAY:
            return
        await notifier.tell(
            [credited.topup.user_id],
            lambda: topup_views.receipt(money, credited.amount, credited.balance),
        )

    async def refunded_outside(outside: OutsideRefund) -> None:
        await notifier.alert_admins(
            s.admin_ids, lambda: topup_views.refunded_outside(money, outside)
        )

    return TopupService(
        TopupRepository(db),
        LedgerWallet(wallets, referrals),
        currency=s.shop_currency,
        digits=digits,
        stars_per_unit=s.stars_per_unit,
        cryptopay=cryptopay,
        cryptopay_assets=s.cryptopay_assets,
        invoice_seconds=s.cryptopay_invoice_minutes * 60,
        on_paid=receipt,
        on_refunded_outside=refunded_outside,
    )


def _shop(
    s: Settings,
    db: Database,
    wallets: WalletRepository,
    accounts: AccountResolver,
    notifier: Notifier,
    ordering: OrderService,
    catalogues: SharedCatalogues | None,
) -> ShopService:
    digits = minor_digits(s.shop_currency)
    rule = PriceRule(
        rate=s.panel_to_shop_rate,
        digits=digits,
        min_price=to_minor_up(s.shop_min_order_price, digits),
    )
    repo = ShopRepository(db)
    catalog = ShopCatalog(
        s.catalog_ttl_seconds, repo, s.shop_markup_percent, rule, shared=catalogues
    )

    async def panel_balance() -> Decimal:
        account = await accounts.for_user(0)  # the operator's key serves everyone in a shop
        assert account is not None
        return (await account.panel.balance(retries=0)).balance

    async def alert() -> None:
        await notifier.alert_admins(s.admin_ids, panel_funds_alert)

    funds = PanelFunds(panel_balance, alert)
    return ShopService(s.shop_currency, catalog, wallets, repo, ordering, funds)


def build_dispatcher(services: Services, inflight: InFlight) -> Dispatcher:
    """The Dispatcher and its routers, in the order an update tries them:

    ├── (shop) payments: nothing else may take a payment's message or its pre-checkout query
    ├── the public routers: start/help/language, referral, connect
    ├── admin: filtered on ADMIN_IDS (an admin needs no panel key of their own)
    ├── the account's routers: catalogue, wizard, orders, balance (a shop: wallet, top-ups);
    │   they refuse people without a panel account, the storefront's also during maintenance
    ├── fallback: what nobody else took
    ├── membership: a person stopping the bot (no message or button is for it)
    └── errors: the error handlers (aiogram offers an error to every router, from the top)

    Every router on an update's way costs it a visit (aiogram wraps and checks each, copying
    the handler data at every step), so the routers hang from the Dispatcher itself: the
    account's and the storefront's refusals are each router's own middlewares, in the order
    a parent router's would run, not routers of their own. /help is found at the first router;
    membership and errors come last, out of every message's and button's way.
    """
    s = services.settings
    shared = services.shared
    dp = CountingDispatcher(
        inflight=inflight,
        storage=DatabaseStorage(services.db)
        if shared is None
        else shared.fsm_storage(s.redis_state_ttl_seconds),
        events_isolation=KeyIsolation() if shared is None else shared.event_isolation(),
        disable_fsm=True,  # registered below as CheckoutUnlocked, in aiogram's own place
    )
    # First of the outer middlewares after aiogram's own, as the stock FSM middleware would be.
    dp.fsm = CheckoutUnlocked(dp.fsm.storage, dp.fsm.events_isolation, dp.fsm.strategy)
    dp.update.outer_middleware(dp.fsm)
    # Handed to the chosen handler, not carried through every router on the way (see there).
    HandlerServices(services.injected().as_data()).setup(dp)
    dp.update.outer_middleware(PrivateChatsOnly(services.i18n))
    rate, burst = s.throttle_updates_per_second, s.throttle_burst
    buckets: Buckets = (
        TokenBuckets(rate, burst) if shared is None else RedisTokenBuckets(shared, rate, burst)
    )
    refused = None if shared is None else RedisRecentlyTold(shared, "refused", REFUSAL_INTERVAL)
    dp.update.outer_middleware(
        AllowListMiddleware(
            s, services.i18n, buckets, refusal_interval=REFUSAL_INTERVAL, refused=refused
        )
    )
    dp.update.outer_middleware(
        PersonMiddleware(services.users, services.i18n, s.default_language, services.queue.unblock)
    )
    PersonLocaleMiddleware(services.i18n).setup(dp)
    ban_gate = BanGate(services.people)
    dp.message.outer_middleware(ban_gate)
    dp.callback_query.outer_middleware(ban_gate)
    throttling = ThrottlingMiddleware(buckets)
    dp.message.outer_middleware(throttling)
    dp.callback_query.outer_middleware(throttling)
    lookup = AccountLookup(services.accounts)
    dp.message.middleware(lookup)
    dp.callback_query.middleware(lookup)

    admins = admin.create_router()
    admins.message.filter(admin.FromAdmins(s.admin_ids))
    admins.callback_query.filter(admin.FromAdmins(s.admin_ids))
    if s.shop_mode:
        # First: the shop's /stats (money) hands on to the console's (the 30-day chart).
        admins.include_routers(shop_admin.create_router(), topup.create_admin_router())
    admins.include_routers(
        console.create_router(), console_people.create_router(), broadcast.create_router()
    )

    # The account's routers refuse people without a panel account; the storefront's (the
    # catalogue and the wizard) also close during maintenance, while orders (tracking) and
    # the balance stay open.
    required = AccountRequired()
    gate = MaintenanceGate(services.maintenance, s.admin_ids)
    storefront = [wizard.create_router(), catalog.create_router()]
    account = [
        *storefront,
        orders.create_router(),
        # A shop's customers see their wallet, never the operator's panel balance.
        shop.create_router() if s.shop_mode else balance.create_router(),
    ]
    if s.shop_mode:
        account.append(topup.create_router())
    for router in account:
        router.message.middleware(required)
        router.callback_query.middleware(required)
    for router in storefront:
        router.message.middleware(gate)
        router.callback_query.middleware(gate)

    if s.shop_mode:
        dp.include_router(topup.create_payments_router())
    dp.include_routers(
        common.create_router(),
        referral.create_router(),
        connect.create_router(),
        admins,
        *account,
        common.create_fallback_router(),
        membership.create_router(),
        errors.create_router(),
    )
    inline_filters(dp)
    return dp


def command_list(*, own_keys: bool, shop: bool = False, topup: bool = False) -> list[BotCommand]:
    """The menu of commands; /connect and /disconnect only where people bring their own key."""
    commands = [
        BotCommand(command="start", description=_("Main menu")),
        BotCommand(command="new", description=_("New order")),
        BotCommand(command="search", description=_("Find a service")),
        BotCommand(command="orders", description=_("My orders")),
        BotCommand(command="order", description=_("One order by number")),
        BotCommand(command="balance", description=_("My wallet") if shop else _("Panel balance")),
    ]
    if topup:
        commands.append(BotCommand(command="topup", description=_("Top up my wallet")))
    commands.append(BotCommand(command="referral", description=_("My referral link")))
    if own_keys:
        commands += [
            BotCommand(command="connect", description=_("Connect your panel key")),
            BotCommand(command="disconnect", description=_("Forget your panel key")),
        ]
    return [
        *commands,
        BotCommand(command="language", description=_("Language")),
        BotCommand(command="help", description=_("Help")),
        BotCommand(command="cancel", description=_("Leave the current step")),
    ]


async def set_commands(bot: Bot, services: Services) -> None:
    """The command menu in every language (the default language also without a code)."""
    i18n = services.i18n
    for language in i18n.languages:
        with i18n.context(), i18n.use_locale(language):
            commands = command_list(
                own_keys=not services.settings.shared_key_mode,
                shop=services.settings.shop_mode,
                topup=services.topups is not None and bool(services.topups.providers),
            )
        if language == services.settings.default_language:
            await bot.set_my_commands(commands)
        await bot.set_my_commands(commands, language_code=language)
